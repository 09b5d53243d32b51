"""chancal: plan a year of channel-partner interactions and publish it as calendars."""

__version__ = "0.2.0"
