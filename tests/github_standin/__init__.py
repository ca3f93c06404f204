"""Tests of the GitHub sandbox over real HTTP."""
