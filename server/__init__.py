"""keel's server: settings, database, HTTP, workers, tracing, CLI. The only package with process state."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keel")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
