"""Application services: one function per step, written against small interfaces."""
