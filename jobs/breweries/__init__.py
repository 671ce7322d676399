"""breweries: a medallion pipeline over the Open Brewery DB API, as Spark jobs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("breweries")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
