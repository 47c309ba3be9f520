"""The Karmada join Lambda (packaged with the KubeFed join modules it reuses)."""
