"""Classifier slice: is a message an incident, which category and department, which sentiment."""
