from tests.e2e.conftest import local_place, place, s3_place

__all__ = ["local_place", "place", "s3_place"]
