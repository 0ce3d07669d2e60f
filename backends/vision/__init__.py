"""Perception several tasks share: mediapipe detectors, the hand report and masks, OCR, image metrics, charts."""
