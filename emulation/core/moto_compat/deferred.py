"""Modules the engine process runs only when something uses them.

Every moto import runs ``moto/__init__``, which imports ``mock_aws`` and with it moto's
in-process mocking machinery (``moto.core.models``): boto3 with s3transfer, ``responses``
with yaml, ``unittest.mock`` with asyncio, the botocore stubber. The engine serves AWS
over HTTP and never mocks a client inside its own process, yet it paid for all of that
before it could answer its first request. So it did for boto3, which moto's backends
import for ``Session`` (the engine answers their region lookups from its own loader, see
:mod:`.speedups`), and for ``cryptography.x509``, which moto's IAM imports (and every
moto request imports moto's IAM to read the caller's account) for the certificates users
upload (and with it the documents of AWS's managed policies, 4.7 MB of text it reads
only when told to load them all), for ``botocore.session``, which moto's core imports to list services for its
error messages (the engine answers region lookups without a session), and for
``requests``, whose ``CaseInsensitiveDict`` is all moto's utilities take at import.
Together about 0.15 s of the 0.5 s from start to first answer on the reference machine.

Each such module is *deferred*: importing it makes the module object without running its
code. The names other modules take from it while they are imported are there at once:
constants, the objects it imports from elsewhere (:class:`Alias`: the very same objects),
functions that load it on their first call and forward to the real one, and (:class:`Unread`)
stand-ins for values their takers read only where the engine hands them the real one. Reading any
other attribute loads it: its code then runs in the same module object, so from then on it
is exactly the module as shipped (the forwarders taken before stay valid). Its code runs
after the deferred modules it imports have run (:data:`NEEDS`), and what it imports while
it runs is never deferred: it sees the modules it always saw. A submodule of a deferred
package runs after its package (whose code may import it: the import then hands back that
module), except those of :data:`INDEPENDENT`, which read nothing from their package:
``requests.structures`` gives moto's utilities ``CaseInsensitiveDict`` without ``requests``
(its charset detector, idna, cookie jar and HTTP adapters: ~25 ms). A deferred module's
code runs holding the import system's lock of its name, as an import would, so a thread
that would wait for it while that code waits for the thread's own import goes on instead,
as with a module another thread is importing.

Nothing of what moto answers changes: the deferred code is machinery the server never
calls until a request needs it (EC2's region list loads boto3, Lambda's and API
Gateway's integrations the mocking machinery), and then it runs as it always did.
"""

from __future__ import annotations

import importlib
import importlib._bootstrap
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

#: a name of a deferred module's that stands for a function: loads the module on first call
FORWARD = object()


class Unread:
    """A name whose value the modules taking it read only in a case the engine handles
    itself (see :data:`DEFERRED`): they hold ``stand_in`` until then, and the module,
    once loaded, has its real value."""

    def __init__(self, stand_in: Any) -> None:
        self.stand_in = stand_in


class Alias:
    """A name a deferred module imports from another module (the very same object)."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def resolve(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


#: per deferred module, the names other modules take from it that must not load it
DEFERRED: dict[str, dict[str, Any]] = {
    # moto/core/__init__.py takes the first three; moto's Lambda and Batch take
    # default_user_config when serving, IdentityStore BackendDict at import. The rest
    # (MockAWS & co., responses_mock, botocore_stubber) load it.
    "moto.core.models": {
        "DEFAULT_ACCOUNT_ID": "123456789012",
        "patch_client": FORWARD,
        "patch_resource": FORWARD,
        "default_user_config": Alias("moto.core.config", "default_user_config"),
        "BackendDict": Alias("moto.core.base_backend", "BackendDict"),
    },
    # moto/__init__.py takes mock_aws.
    "moto.core.decorator": {"mock_aws": FORWARD},
    # moto's backends take Session (called for region lookups: EC2's loads boto3);
    # boto3's submodules (boto3.dynamodb.types for DynamoDB) import without it.
    "boto3": {"Session": FORWARD},
    # moto's core takes Session (to list services, for its error messages); the engine
    # answers region lookups without one (see speedups).
    "botocore.session": {"Session": FORWARD},
    # moto's IAM takes the package for its server and signing certificates.
    "cryptography.x509": {},
    # moto's core takes the package (for its server-mode calls), and its utilities take
    # ``requests.structures.CaseInsensitiveDict``, which runs without the package (below);
    # the structures take MutableMapping from compat, which otherwise imports a charset
    # detector, http.cookiejar and urllib.request.
    "requests": {},
    "requests.compat": {"MutableMapping": Alias("collections.abc", "MutableMapping")},
    # moto's IAM takes the documents of AWS's managed policies (4.7 MB of text) and reads
    # them only when its backends load every managed policy (speedups gives it the text
    # then, and SSO Admin as it is imported); the engine reads them with ``loaded`` when a
    # request names one.
    "moto.iam.aws_managed_policies": {"aws_managed_policies_data": Unread("")},
    # moto's S3 takes EventBridge's ``send_notification`` (below), which reads EventBridge's
    # backends only when a bucket is created: the package (its models) runs then.
    "moto.events": {},
    # The S3 row store imports sqlite3; an engine without a state dir never opens a database.
    "sqlite3": {},
}

#: submodules of deferred packages that run without their package: they read nothing from it
#: (any other submodule first loads its package, whose code imports the submodule)
INDEPENDENT: frozenset[str] = frozenset(
    {"requests.structures", "moto.events.notifications", "moto.events.utils"}
)


#: what each deferred module's code expects to have run before it: the deferred modules it
#: imports (a deferred import does not run them, and moto's models use ``botocore.client``,
#: which only boto3's and botocore.session's imports bring in)
NEEDS: dict[str, tuple[str, ...]] = {
    "moto.core.models": ("botocore.session", "boto3"),
    "moto.core.decorator": ("moto.core.models",),
    "boto3": ("botocore.session",),
}


def install() -> None:
    """Defer the modules of :data:`DEFERRED` this process has not imported yet."""
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())


def load_all() -> None:
    """Import and run every module of :data:`DEFERRED` now (a process that forks engines
    shares them so)."""
    for name in DEFERRED:
        loaded(name)


def loaded(module_name: str) -> ModuleType:
    """``module_name`` imported and run (loaded now if it was deferred)."""
    module = importlib.import_module(module_name)
    loader = getattr(getattr(module, "__spec__", None), "loader", None)
    if isinstance(loader, _DeferredLoader):
        loader.load(module)
    return module


def when_loaded(module_name: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` once ``module_name`` has run: now if it has, else right after
    its code runs (before any other thread can use it), deferred or not."""
    with _hooks_lock:
        if not is_loaded(module_name):
            if module_name in sys.modules or _deferring(module_name):
                _on_load.setdefault(module_name, []).append(hook)
                return
            from emulation.core.imports import when_imported

            when_imported(module_name, hook)
            return
    hook(sys.modules[module_name])


def _deferring(module_name: str) -> bool:
    return module_name in DEFERRED and any(isinstance(f, _DeferringFinder) for f in sys.meta_path)


_hooks_lock = threading.Lock()
_on_load: dict[str, list[Callable[[ModuleType], None]]] = {}
#: per thread: how many deferred modules it is loading
_loading = threading.local()


def _loading_depth() -> int:
    depth: int = getattr(_loading, "depth", 0)
    return depth


def _import_lock(module_name: str) -> Any:
    """The import system's (re-entrant, deadlock-detecting) lock of ``module_name``."""
    return importlib._bootstrap._get_module_lock(module_name)  # type: ignore[attr-defined]


_DEADLOCK: type[Exception] = importlib._bootstrap._DeadlockError  # type: ignore[attr-defined]


def is_loaded(module_name: str) -> bool:
    """Whether ``module_name`` has been imported and its code has run."""
    module = sys.modules.get(module_name)
    if module is None:
        return False
    loader = getattr(getattr(module, "__spec__", None), "loader", None)
    return not isinstance(loader, _DeferredLoader) or loader.loaded


class BusyError(ImportError):
    """A deferred module's code is running in another thread, which waits for this one: as
    with a module another thread is importing, this thread goes on without waiting (an
    attribute not set yet is missing, a submodule imports as usual)."""


class _DeferredLoader(importlib.abc.Loader):
    """Makes the module with its eager names; runs ``inner`` on the first other access."""

    def __init__(self, inner: importlib.abc.Loader, eager: dict[str, Any]) -> None:
        self.inner = inner
        self.eager = eager
        self.loaded = False
        self._loading_thread: int | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        for name, value in self.eager.items():
            if value is FORWARD:
                setattr(module, name, self._forwarder(module, name))
            elif isinstance(value, Alias):
                setattr(module, name, value.resolve())
            elif isinstance(value, Unread):
                setattr(module, name, value.stand_in)
            else:
                setattr(module, name, value)

        def module_getattr(name: str) -> Any:
            if name.startswith("__") or self._loading_thread == threading.get_ident():
                # dunder lookups (the import system's) and the module's own code while it
                # runs see only what is already there
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
            try:
                self.load(module)
            except BusyError as exc:
                raise AttributeError(
                    f"partially initialized module {module.__name__!r} has no attribute {name!r} ({exc})"
                ) from None
            return getattr(module, name)

        module.__getattr__ = module_getattr  # type: ignore[method-assign]

    def running(self) -> bool:
        """Whether the module's code is running now (in any thread)."""
        return self._loading_thread is not None

    def load(self, module: ModuleType) -> ModuleType:
        """Run the module's code, then its :func:`when_loaded` hooks (once, whichever
        thread asks first; the others wait until both are done).

        The code runs holding the import system's lock of the module's name, as an import
        would: a thread that waits for it while the code waits for a module that thread is
        importing raises :class:`BusyError` instead of waiting forever (the import system's
        deadlock detection sees both)."""
        if self.loaded:
            return module
        lock = _import_lock(module.__name__)
        try:
            lock.acquire()
        except _DEADLOCK as exc:
            raise BusyError(f"{module.__name__} is running in another thread: {exc}") from None
        try:
            if self.loaded or self._loading_thread == threading.get_ident():
                return module
            self._loading_thread = threading.get_ident()
            _loading.depth = _loading_depth() + 1
            try:
                for needed in NEEDS.get(module.__name__, ()):
                    loaded(needed)
                self.inner.exec_module(module)
                if _own_getattr(module):
                    del module.__dict__["__getattr__"]
                _run_hooks(module)
            finally:
                self._loading_thread = None
                _loading.depth -= 1
            self.loaded = True
        finally:
            lock.release()
        return module

    def _forwarder(self, module: ModuleType, name: str) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.load(module), name)(*args, **kwargs)

        forward.__name__ = forward.__qualname__ = name
        forward.__module__ = module.__name__
        forward.__doc__ = f"``{module.__name__}.{name}``: loads the module on first call."
        return forward

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, get_resource_reader...: the inner loader's
        return getattr(self.inner, name)


def _own_getattr(module: ModuleType) -> bool:
    hook = module.__dict__.get("__getattr__")
    return getattr(hook, "__qualname__", "").startswith(f"{_DeferredLoader.__name__}.")


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        eager = DEFERRED.get(fullname)
        if eager is None:
            return _after_package(fullname, path)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        if _loading_depth() > 0:
            # while a deferred module's code runs, what it imports runs as it always did
            # (then its when_loaded hooks)
            from emulation.core.imports import PostImportLoader

            spec.loader = PostImportLoader(spec.loader, _run_hooks)
        else:
            spec.loader = _DeferredLoader(spec.loader, eager)
        return spec


def _after_package(fullname: str, path: Sequence[str] | None) -> importlib.machinery.ModuleSpec | None:
    """The spec of a submodule of a deferred package whose code has not run: its loader runs
    the package first (its code expects its own imports to have run, and may import this
    submodule itself: ``requests`` imports ``requests.adapters``, which imports the
    package's other parts through the package). None: import the submodule as usual, also
    when the package's code is running (in this thread: it is importing the submodule; in
    another: the import system goes on with a package another thread initializes, too).

    Nothing runs here: a finder is called with the import system's global lock held."""
    package, _, _ = fullname.rpartition(".")
    if package not in DEFERRED or fullname in INDEPENDENT or is_loaded(package):
        return None
    loader = getattr(getattr(sys.modules.get(package), "__spec__", None), "loader", None)
    if not isinstance(loader, _DeferredLoader) or loader.running():
        return None
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or spec.loader is None:
        return None
    spec.loader = _PackageFirst(spec.loader, package)
    return spec


class _PackageFirst(importlib.abc.Loader):
    """Runs a deferred package, then the submodule (unless the package's code imported it:
    then that module is the import's)."""

    def __init__(self, inner: importlib.abc.Loader, package: str) -> None:
        self.inner = inner
        self.package = package
        self.imported: ModuleType | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        try:
            loaded(self.package)
        except BusyError:
            pass  # the package runs in a thread waiting for this import: go on as usual
        else:
            self.imported = sys.modules.get(spec.name)
            if self.imported is not None:
                return self.imported
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        if spec is not None and spec.loader is self:
            spec.loader = self.inner  # the module as the usual import leaves it
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self.inner
        if module is not self.imported:
            self.inner.exec_module(module)


def _run_hooks(module: ModuleType) -> None:
    with _hooks_lock:
        hooks = _on_load.pop(module.__name__, [])
    for hook in hooks:
        hook(module)
