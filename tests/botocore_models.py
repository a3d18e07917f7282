"""botocore's service models parsed once per test session, not once per botocore session.

moto gives every ``mock_aws`` block a new boto3 default session, and every botocore session has its own
``Loader``, which parses the JSON models (SageMaker's and the endpoints file are megabytes) again: about
40 % of a moto test's time. :func:`share_parsed_models` makes each new botocore session's loader a
:class:`SharedCacheLoader`, which keeps botocore's own per-loader cache (the same parsed objects a loader
already hands to every client of its session) in one dictionary per search path and extras list, so a later
session with the same data files gets the objects the first one parsed. Nothing else is shared: credentials,
configuration, event handlers, clients and moto's state stay per session. botocore treats the models as
read-only (within a session every client shares them already), and no test writes to one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import botocore
from botocore.loaders import Loader
from botocore.session import Session


class SharedCacheLoader(Loader):  # type: ignore[misc]  # botocore is untyped
    """botocore's ``Loader`` whose instance cache is shared by every loader with the same search paths and extras.

    The cache key includes the search paths as they are when a file is loaded: boto3 appends its own data folder
    to its session's loader, so a boto3 session and a bare botocore session each use their own entries.
    """

    _caches: ClassVar[dict[tuple[tuple[str, ...], tuple[str, ...]], dict[Any, Any]]] = {}

    @property
    def _cache(self) -> dict[Any, Any]:
        key = (tuple(self.search_paths), tuple(self.extras_types))
        return self._caches.setdefault(key, {})

    @_cache.setter
    def _cache(self, _fresh: dict[Any, Any]) -> None:
        """``Loader.__init__`` assigns a fresh dict; the shared one is used instead."""


def _install(session: Session) -> None:
    """Give ``session`` a shared-cache loader, with the search paths botocore's ``create_loader`` would use."""

    def create() -> SharedCacheLoader:
        data_path = session.get_config_variable("data_path")
        if data_path is None:
            return SharedCacheLoader()
        paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
        return SharedCacheLoader(extra_search_paths=paths)

    session.lazy_register_component("data_loader", create)


@contextmanager
def share_parsed_models() -> Iterator[None]:
    """While active, every new botocore session reuses the models earlier sessions parsed; cleared at the end."""
    botocore.register_initializer(_install)
    try:
        yield
    finally:
        botocore.unregister_initializer(_install)
        SharedCacheLoader._caches.clear()
