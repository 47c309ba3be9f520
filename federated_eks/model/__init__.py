"""What a federation is: the typed, validated config (dataclasses, choices, limits, defaults). Pure data; the
lowest package: imports nothing of the app."""
