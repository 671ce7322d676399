"""What the pipeline needs from a place that keeps bytes, whatever that place is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import date


class Store(ABC):
    """Byte-level I/O on one kind of storage, addressed by full URIs.

    Spark reads and writes tables itself; everything else the pipeline stores (bronze pages,
    manifests, state records, quality reports) goes through a store, which also publishes a table
    that Spark wrote to a staging folder. Single objects are written atomically, so a reader never
    sees half a manifest or half a state record.
    """

    @abstractmethod
    def write_bytes(self, uri: str, data: bytes) -> None: ...

    @abstractmethod
    def read_bytes(self, uri: str) -> bytes:
        """The object's bytes; :class:`~breweries.errors.StorageError` naming ``uri`` when absent."""

    @abstractmethod
    def exists(self, uri: str) -> bool:
        """True for an object or a folder that holds one (a key prefix alone is not a folder)."""

    @abstractmethod
    def delete_object(self, uri: str) -> None:
        """Gone afterwards, whether or not it was there."""

    @abstractmethod
    def list_files(self, uri: str) -> list[str]:
        """Every object below ``uri`` (recursively), as full URIs, sorted."""

    @abstractmethod
    def delete_tree(self, uri: str) -> None: ...

    @abstractmethod
    def delete_trees_named(self, prefix_uri: str) -> None:
        """Delete every tree whose URI starts with ``prefix_uri`` (``.../_staging/leaf.`` -> all runs')."""

    @abstractmethod
    def replace_tree(self, staging_uri: str, final_uri: str) -> None:
        """Make the finished tree at ``staging_uri`` the content of ``final_uri``, dropping the old one."""

    @abstractmethod
    def run_date_lock(self, state_uri: str, run_date: date) -> AbstractContextManager[None]:
        """Held while a run works on ``run_date``: a second run of that date must not start meanwhile.

        Raises :class:`~breweries.errors.RunDateBusyError` when another run holds it.
        """
