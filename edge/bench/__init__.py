"""``frugal bench``: speed, memory, energy, carbon and cost of edge, hybrid and cloud serving.

Every figure carries how it was obtained (measured, codecarbon estimate, projection), so a number never
travels without its method.
"""
