"""Start-up and per-request speed-ups for moto inside the engine process.

Measured on the reference machine, each of these cost the first ``up`` a second or more:

* moto's service modules ask boto3 for the regions of a service while their classes are
  being defined (EC2 alone asks eleven times at import). Each call builds a fresh botocore
  session whose loader parses botocore's ``endpoints.json`` and the service's model again
  (about 0.1 s apiece, 1.3 s for EC2). The answer only depends on the installed botocore,
  so every such call is memoized and kept with the model cache on disk; what is not kept
  yet is asked of one shared session, made on first need (importing and making a botocore
  session is ~35 ms the engine's first answer no longer waits for), which reads models
  through moto's loader, so each model is parsed once, not twice.
* moto builds a new model loader for every service model it loads, and each new loader
  lists botocore's whole data directory again (thousands of ``stat`` calls). One shared
  loader lists it once, and parses each model once for moto, botocore and the IAM layer.
* moto's EKS asks a new boto3 session for the partitions (parsing ``endpoints.json``)
  for every role ARN it validates, and every service's backends make one for their
  regions: both are answered from the shared session without making one (registering a
  new session's handlers alone is 7-18 ms).
* moto's request router lists its own package directory (and stats every entry) twice per
  request to recognise service names. The package does not change while the engine runs.
* werkzeug compiles two URL *builders* for every routing rule it binds (Python source
  generated, parsed and compiled: ``Rule._compile_builder``), and moto binds a rule for every
  operation of every REST service it routes (S3 five times over) and every URL of every
  service app. Nothing in the engine builds URLs from those rules; matching uses only the
  rule's regular expression. Each builder is now compiled the first time it is called: a
  cold ``up`` spent about a tenth of the engine's CPU compiling them.
* moto draws each answer's request id (52 letters and digits) with one ``choice()`` call
  per character, about a twentieth of an S3 object call's CPU; one ``choices()`` call
  draws them from the same (seedable) generator (so a seeded engine's ids differ from
  moto's under the same seed; they stay reproducible).
* moto lists every function of a service's response class (``inspect.getmembers`` over a
  few hundred attributes) on every request it dispatches, to check that the action has a
  handler: about a tenth of a simple request's CPU. The list is kept per class.
* moto's KMS makes an RSA-2048 key pair for every key it creates, also for symmetric and
  HMAC keys, whose pair only ``Sign``, ``Verify`` and ``GetPublicKey`` would ever touch
  (30-200 ms each; DynamoDB makes such a key for every table it encrypts). Such a key's
  pair is now made the first time it is used; a snapshot taken before then keeps only
  that it is still to be made (:class:`DeferredKeyPair`). RSA and ECC keys get theirs at
  once, as before.

And one for memory: importing moto's EC2 parses the instance-type offerings of every region
and location type (about a million JSON values, ~55 MB of the engine's RSS) although the
platform runs no instances. Each region's list is now read the first time it is asked for
(``DescribeInstanceTypeOfferings``, ``RunInstances``' placement check, spot price history),
and the instance-type catalogue (~10 MB) the first time ``DescribeInstanceTypes`` reads it
(the families moto lists at import come from its names, kept on disk with the models).

None of these changes what moto answers; they only stop it from recomputing constants or
loading data before it is needed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

_installed = False
_lock = threading.RLock()


def install() -> None:
    """Apply every speed-up (idempotent); call before moto's services are imported.

    They lean on moto's module layout: should a moto release move something, that speed-up
    is skipped with a warning and the engine runs as plain moto would (only slower).
    """
    global _installed
    with _lock:
        if _installed:
            return
        _apply("mock machinery on first use", _defer_unused_modules)
        loader = _apply("one model loader", _share_model_loader)
        _apply("region lookups", lambda: _cache_region_lookups(loader))
        _apply("module list", _cache_module_list)
        _apply("lazy EC2 instance-type offerings", _lazy_instance_type_offerings)
        _apply("URL builders on first use", _lazy_url_builders)
        _apply("KMS key pairs on first use", _defer_kms_key_pairs)
        _apply("handler names per class", _cache_handler_names)
        _apply("request ids in one draw", _draw_request_ids_at_once)
        _apply("moto's access control on first check", _import_access_control_on_first_check)
        _apply("AWS managed policy documents on first use", _read_managed_policy_documents_on_use)
        _installed = True


def _apply(what: str, speed_up: Callable[[], Any]) -> Any:
    try:
        return speed_up()
    except (AttributeError, ImportError, TypeError) as exc:
        log.warning("engine start-up speed-up %r not applied (moto changed?): %s", what, exc)
        return None


def _defer_unused_modules() -> None:
    from emulation.core.moto_compat import deferred

    deferred.install()


def _cache_region_lookups(loader: Any) -> None:
    from emulation.core.moto_compat import deferred

    lookups = _RegionLookups(loader)

    def patch_session(module: ModuleType) -> None:
        # every botocore (and boto3) session's lookups are the engine's memoized ones
        session_class = module.Session
        lookups.originals = (session_class.get_available_regions, session_class.get_available_partitions)
        session_class.get_available_regions = lambda self, *args, **kwargs: lookups.get_available_regions(
            *args, **kwargs
        )
        session_class.get_available_partitions = lambda self: lookups.get_available_partitions()

    deferred.when_loaded("botocore.session", patch_session)
    # moto's backends ask a boto3 session of their own only for these two lookups: answer
    # them without building it (a botocore session registers ~130 handlers: 18 ms).
    from moto.core.base_backend import AccountSpecificBackend

    AccountSpecificBackend.get_session = classmethod(lambda cls: lookups)  # type: ignore[method-assign,assignment]
    # and moto's EKS makes one to list the partitions of every role ARN it validates
    from emulation.core.imports import when_imported

    when_imported("moto.eks.utils", lambda utils: setattr(utils, "Session", lambda: lookups))


class _RegionLookups:
    """A service's regions and the partitions, as a botocore session answers them: from
    memory, else from the model cache on disk (they only change with botocore's data),
    else from one shared session (made on first need, reading models through moto's loader)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        #: botocore's own Session.get_available_regions and get_available_partitions
        self.originals: tuple[Callable[..., list[str]], Callable[..., list[str]]] | None = None
        self._session: Any = None
        self._known: dict[tuple[Any, ...], list[str]] = {}

    def get_available_regions(
        self, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        key = ("regions", service_name, partition_name, allow_non_regional)
        return self._lookup(key, lambda: self._originals()[0](self._shared(), *key[1:]))

    def get_available_partitions(self) -> list[str]:
        return self._lookup(("partitions",), lambda: self._originals()[1](self._shared()))

    def _lookup(self, key: tuple[Any, ...], ask: Callable[[], list[str]]) -> list[str]:
        known = self._known.get(key)
        if known is None:
            with _lock:
                known = self._known.get(key)
                if known is None:
                    known = self._known[key] = self._kept(key, ask)
        return list(known)

    def _kept(self, key: tuple[Any, ...], ask: Callable[[], list[str]]) -> list[str]:
        if self.loader is None:
            return list(ask())
        from emulation.modelcache import kept_for_loader

        return kept_for_loader(self.loader, "\0".join(map(str, key)), lambda: list(ask()))

    def _shared(self) -> Any:
        if self._session is None:
            from emulation.core.moto_compat import deferred

            session = deferred.loaded("botocore.session").Session()
            if self.loader is not None:
                # botocore reads the service's whole model to learn its endpoint prefix:
                # let it use moto's loader, which has (or will have) parsed that model anyway.
                session.register_component("data_loader", self.loader)
            self._session = session
        return self._session

    def _originals(self) -> tuple[Callable[..., list[str]], Callable[..., list[str]]]:
        self._shared()  # loads botocore.session, whose hook sets them
        assert self.originals is not None, "botocore.session loaded without the engine's hook"
        return self.originals


def _share_model_loader() -> Any:
    import moto.core.utils as moto_utils
    from moto.core.loaders import create_loader

    from emulation.modelcache import use_model_cache

    shared = use_model_cache(create_loader())  # each model's JSON parsed once per machine
    original = shared.load_service_model

    def load_service_model(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        # The loader caches by the exact call: botocore passes keywords, moto positions;
        # one spelling means one cache entry, so each model is parsed once.
        return original(service_name, type_name, api_version)

    shared.load_service_model = load_service_model  # type: ignore[method-assign]
    moto_utils.create_loader = lambda: shared  # type: ignore[attr-defined]
    return shared


def service_model(name: str) -> Any:
    """moto's (cached) copy of botocore's model of ``name``, from the shared loader."""
    from moto.core.utils import get_service_model

    return get_service_model(name)


def _lazy_url_builders() -> None:
    from werkzeug.routing.rules import Rule

    if getattr(Rule._compile_builder, "_nexuskit_lazy", False):
        return
    original = Rule._compile_builder

    def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            # werkzeug binds what this returns to the rule (``__get__``), as it does the
            # compiled builder; compile that on the first call, from the rule as it is then
            if not compiled:
                compiled.append(original(rule, append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build

    _compile_builder._nexuskit_lazy = True  # type: ignore[attr-defined]
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]


def _cache_handler_names() -> None:
    import moto.core.responses as moto_responses

    listed = moto_responses.method_names_from_class
    if getattr(listed, "_nexuskit_cached", False):
        return
    names: dict[type, list[str]] = {}

    def method_names_from_class(clazz: type) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = listed(clazz)
        return found

    method_names_from_class._nexuskit_cached = True  # type: ignore[attr-defined]
    moto_responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]


# -- KMS key pairs, made on first use ---------------------------------------------------------
def _defer_kms_key_pairs() -> None:
    from emulation.core.imports import when_imported

    when_imported("moto.kms.models", _install_deferred_key_pairs)


def _install_deferred_key_pairs(models: ModuleType) -> None:
    generate = models.generate_private_key
    if getattr(generate, "_nexuskit_deferred", False):
        return

    def generate_private_key(key_spec: str) -> Any:
        if str(key_spec).startswith(("RSA_", "ECC_")):
            return generate(key_spec)
        return DeferredKeyPair(key_spec)

    generate_private_key._nexuskit_deferred = True  # type: ignore[attr-defined]
    models.generate_private_key = generate_private_key  # type: ignore[attr-defined]


def _moto_key_pair(key_spec: str) -> Any:
    from moto.kms.utils import generate_private_key  # type: ignore[attr-defined]

    return generate_private_key(key_spec)


def _same(value: Any) -> Any:
    return value


class DeferredKeyPair:
    """Stands for the key pair moto makes for a KMS key (``Key.private_key``) until it is
    first used; then it makes that pair (as moto would have at creation) and passes
    every attribute on to it. Pickles as the pair once made, as its key spec before."""

    __slots__ = ("_lock", "_pair", "key_spec")

    def __init__(self, key_spec: str) -> None:
        self.key_spec = key_spec
        self._pair: Any = None
        self._lock = threading.Lock()

    def made(self) -> bool:
        return self._pair is not None

    def pair(self) -> Any:
        if self._pair is None:
            with self._lock:
                if self._pair is None:
                    self._pair = _moto_key_pair(self.key_spec)
        return self._pair

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.pair(), name)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self._pair is None:
            return (DeferredKeyPair, (self.key_spec,))
        return (_same, (self._pair,))


def _cache_module_list() -> None:
    import moto.backends as moto_backends

    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def _draw_request_ids_at_once() -> None:
    import string

    import moto.core.responses as moto_responses
    from moto.moto_api._internal import mock_random

    pool = string.ascii_letters + string.digits

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        # moto's: 52 letters and digits from its (seedable) generator, one choice() call
        # per character; choices() draws them from the same generator in one call.
        request_id = "".join(mock_random.choices(pool, k=52))
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = request_id
        return request_id

    if not callable(getattr(moto_responses, "gen_amzn_requestid_long", None)):
        raise AttributeError("moto.core.responses.gen_amzn_requestid_long is gone")
    moto_responses.gen_amzn_requestid_long = gen_amzn_requestid_long  # type: ignore[attr-defined]


def _read_managed_policy_documents_on_use() -> None:
    """moto's IAM binds the documents of every AWS managed policy (4.7 MB of text: ~9 ms of
    the first request's import, and as much memory) at import, to parse them only when a
    backend is created with ``MOTO_IAM_LOAD_MANAGED_POLICIES`` (or moto's config) on. The
    module holding them is deferred (:mod:`.deferred`), and before moto parses them the
    backend is given the text itself. SSO Admin, the only other reader, gets it when it is
    imported."""
    from emulation.core.imports import when_imported

    when_imported("moto.iam.models", _give_backends_the_documents)
    when_imported("moto.ssoadmin.models", _give_module_the_documents)


def _managed_policy_documents() -> str:
    from emulation.core.moto_compat.deferred import loaded

    documents: Any = loaded("moto.iam.aws_managed_policies")
    text: str = documents.aws_managed_policies_data
    return text


def _give_module_the_documents(module: ModuleType) -> None:
    setattr(module, "aws_managed_policies_data", _managed_policy_documents())  # noqa: B010


def _give_backends_the_documents(models: ModuleType) -> None:
    backend = models.IAMBackend
    create = backend._init_aws_policies
    if getattr(create, "_nexuskit_documents", False):
        return

    def _init_aws_policies(self: Any) -> Any:
        if models.load_iam_aws_managed_policies():
            _give_module_the_documents(models)
        return create(self)

    _init_aws_policies._nexuskit_documents = True  # type: ignore[attr-defined]
    _init_aws_policies.__wrapped__ = create  # type: ignore[attr-defined]
    backend._init_aws_policies = _init_aws_policies


def _import_access_control_on_first_check() -> None:
    """moto imports its IAM's access control on every request before it looks whether its
    own checks are on: with it botocore's credential providers and moto's CloudWatch and
    EventBridge models, ~20 ms of a first answer. The engine enforces IAM itself and leaves
    moto's checks off (``INITIAL_NO_AUTH_ACTION_COUNT`` infinite): such a request is only
    counted, as moto counts it, and a request moto checks goes to moto's method as before."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    checked_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action
    checked_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def unchecked() -> bool:
        if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
            return False
        ActionAuthenticatorMixin.request_count += 1
        return True

    def s3_action(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if not unchecked():
            checked_s3(self, bucket_name, key_name)

    def normal_action(self: Any, resource: str = "*") -> None:
        if not unchecked():
            checked_normal(self, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = s3_action  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = normal_action  # type: ignore[method-assign]


# -- EC2 instance-type offerings, read per region on first use -------------------------------
INSTANCE_TYPES_MODULE = "moto.ec2.models.instance_types"
_OFFERINGS_DIR = "ec2/resources/instance_type_offerings/"
INSTANCE_TYPES_FILE = "ec2/resources/instance_types.json"


class LazyRegionOfferings(dict[str, Any]):
    """``INSTANCE_TYPE_OFFERINGS[location_type]``: region -> offerings, each region's file
    loaded (and its entries tagged with the location type, as moto does) when first read."""

    def __init__(self, location_type: str, files: dict[str, str]) -> None:
        super().__init__()
        self.location_type = location_type
        self._files = dict(files)

    def _load(self, region: str) -> bool:
        with _lock:
            if dict.__contains__(self, region):
                return True
            path = self._files.get(region)
            if path is None:
                return False
            from moto.utilities.utils import load_resource

            offerings = load_resource(path)
            for offering in offerings:
                offering["LocationType"] = self.location_type
            dict.__setitem__(self, region, offerings)
            return True

    def _load_all(self) -> None:
        for region in list(self._files):
            self._load(region)

    def __getitem__(self, region: str) -> Any:
        self._load(region)
        return dict.__getitem__(self, region)

    def get(self, region: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.__getitem__(self, region) if self._load(region) else default

    def __contains__(self, region: object) -> bool:
        return region in self._files or dict.__contains__(self, region)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        return len(set(self._files) | set(dict.keys(self)))

    def keys(self) -> Any:
        self._load_all()
        return dict.keys(self)

    def values(self) -> Any:
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        self._load_all()
        return dict.items(self)


class LazyInstanceTypes(dict[str, Any]):
    """moto's ``INSTANCE_TYPES`` (name -> description), read from its file when first used."""

    def __init__(self, load_resource: Callable[[str], Any]) -> None:
        super().__init__()
        self._load_resource = load_resource
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        with _lock:
            if not self._loaded:
                dict.update(self, self._load_resource(INSTANCE_TYPES_FILE))
                self._loaded = True

    def __getitem__(self, name: str) -> Any:
        self._load()
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self._load()
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        self._load()
        return dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._load()
        return dict.keys(self)

    def values(self) -> Any:
        self._load()
        return dict.values(self)

    def items(self) -> Any:
        self._load()
        return dict.items(self)


class _LazyInstanceTypeList:
    """``InstanceTypeBackend.instance_types``: built (as moto builds it) on first read."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._types: list[Any] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[Any]:
        if self._types is None:
            with _lock:
                if self._types is None:
                    module = self._module
                    self._types = list(map(module.InstanceType, module.INSTANCE_TYPES.keys()))
        return self._types


class _LazyOfferingsLoader(importlib.abc.Loader):
    """Runs moto's ``instance_types`` module with its offering files left unread, then
    puts a :class:`LazyRegionOfferings` in place of each location type's dict."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        import moto.utilities.utils as moto_utilities

        real = moto_utilities.load_resource
        deferred: dict[str, dict[str, str]] = {}

        def load_resource(filename: str, *args: Any, **kwargs: Any) -> Any:
            if filename.startswith(_OFFERINGS_DIR):
                location_type, data_file = filename[len(_OFFERINGS_DIR) :].split("/", 1)
                deferred.setdefault(location_type, {})[data_file.split(".")[0]] = filename
                return []
            if filename == INSTANCE_TYPES_FILE and not args and not kwargs:
                # While the module runs it only needs the names (the families, and a list of
                # InstanceType per name that is replaced below): an empty entry each.
                return {name: {} for name in _instance_type_names(real)}
            return real(filename, *args, **kwargs)

        moto_utilities.load_resource = load_resource
        try:
            self.inner.exec_module(module)
        finally:
            moto_utilities.load_resource = real
        module.load_resource = real  # type: ignore[attr-defined]
        offerings = module.INSTANCE_TYPE_OFFERINGS
        for location_type in list(offerings):
            offerings[location_type] = LazyRegionOfferings(location_type, deferred.get(location_type, {}))
        # The instance-type catalogue (~10 MB with moto's InstanceType copies) is read when
        # DescribeInstanceTypes asks; the families above came from its names, kept on disk.
        module.INSTANCE_TYPES = LazyInstanceTypes(real)  # type: ignore[attr-defined]
        module.InstanceTypeBackend.instance_types = _LazyInstanceTypeList(module)


def _instance_type_names(load: Callable[[str], Any]) -> list[str]:
    """The names in moto's instance-type catalogue (parsing it is 45 ms), kept with the
    botocore models' cache and keyed by the catalogue file's path, size and time."""
    from pathlib import Path

    import moto

    from emulation.modelcache import kept

    root = Path(moto.__file__).parent
    for path in (root / f"{INSTANCE_TYPES_FILE}.gz", root / INSTANCE_TYPES_FILE):
        try:
            stat = path.stat()
        except OSError:
            continue
        key = f"moto-instance-type-names\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
        return kept(key, lambda: list(load(INSTANCE_TYPES_FILE)))
    return list(load(INSTANCE_TYPES_FILE))


class _LazyOfferingsFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != INSTANCE_TYPES_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _LazyOfferingsLoader(spec.loader)
        return spec


def _lazy_instance_type_offerings() -> None:
    if INSTANCE_TYPES_MODULE in sys.modules:
        log.warning("moto's EC2 was imported before the engine's speed-ups: offerings stay eager")
        return
    from moto.utilities import utils as moto_utilities

    if not callable(getattr(moto_utilities, "load_resource", None)):
        raise AttributeError("moto.utilities.utils.load_resource is gone")
    sys.meta_path.insert(0, _LazyOfferingsFinder())
