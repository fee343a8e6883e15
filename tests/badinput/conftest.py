from tests.e2e.conftest import local_place, place

__all__ = ["local_place", "place"]
