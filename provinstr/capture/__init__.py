"""Capture: runs, activities, the background recorder and the never-break-training guard."""
