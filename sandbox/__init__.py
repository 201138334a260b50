"""Local stand-ins of the systems Seam connects to, and the seeded population generator."""
