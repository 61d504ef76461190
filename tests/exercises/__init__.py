"""The sgdlab exercises: property tests that prove a solutions file right or wrong."""
