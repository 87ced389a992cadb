"""Per-host TLS policy: relax TLS only for the hosts whose registry entry says so, and log it.

Some old government servers only speak TLS 1.2 with legacy ciphers or weak DH parameters (bacgiang.gov.vn needs
``DEFAULT@SECLEVEL=1``), or serve a broken certificate chain. A registry entry may carry
``tls = {min_version = "TLSv1.2", max_version = "TLSv1.2", ciphers = "DEFAULT@SECLEVEL=1", verify = false,
reason = "..."}``; the setting ``TLS_POLICIES`` (``{host: policy}``) adds or overrides policies per deployment.
Every other host keeps the project's settings (``DOWNLOAD_VERIFY_CERTIFICATES``, Scrapy's default ciphers).

:class:`PerHostTLSPolicy` is an ``IPolicyForHTTPS``: for a host with a policy it builds Scrapy's own client
context factory with that host's options; for any other host it defers to the handler's default factory. The
replica router installs it on the HTTP/1.1 handler it wraps (Scrapy 2.19 deprecates the
``DOWNLOADER_CLIENTCONTEXTFACTORY`` setting, so the factory is not configured through it).
"""

from __future__ import annotations

import logging
from typing import Any

# Scrapy's context factory is private since 2.19 (the public name is a deprecated alias). It is the class Scrapy
# builds for every host by default, so a policy host gets exactly Scrapy's behaviour plus its own options.
from OpenSSL import SSL
from scrapy.core.downloader.contextfactory import _ScrapyCertificateOptions, _ScrapyClientContextFactory
from scrapy.core.downloader.tls import _TWISTED_VERSION_MAP
from scrapy.settings import BaseSettings
from scrapy.utils._deps_compat import TWISTED_TLS_NEW_IMPL
from twisted.internet._sslverify import ClientTLSOptions
from twisted.internet.ssl import platformTrust
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

logger = logging.getLogger(__name__)

TLS_VERSIONS = tuple(_TWISTED_VERSION_MAP)  # "TLSv1.0" ... "TLSv1.3"


class TLSPolicyError(ValueError):
    """A TLS policy names an unknown TLS version or option."""


def registry_policies() -> dict[str, dict[str, Any]]:
    """``{host: tls policy}`` of every registry entry that has a ``tls`` table (``www.`` stripped)."""
    from portal_spiders.registry import default_registry

    policies: dict[str, dict[str, Any]] = {}
    for cfg in default_registry().values():
        if cfg.tls:
            for host in cfg.hosts:
                policies[host.removeprefix("www.")] = {**cfg.tls, "portal": cfg.slug}
    return policies


def policies_from_settings(settings: BaseSettings) -> dict[str, dict[str, Any]]:
    """Registry policies overlaid with the ``TLS_POLICIES`` setting (a dict, or JSON text on the command line)."""
    policies = registry_policies() if settings.getbool("TLS_POLICIES_FROM_REGISTRY", True) else {}
    from portal_spiders.registry import TLS_KEYS

    extra = settings.getdict("TLS_POLICIES")
    for host, policy in extra.items():
        check_setting_policy(host, policy, TLS_KEYS)
        policies[host.lower().removeprefix("www.")] = dict(policy)
    for host, policy in policies.items():
        for key in ("min_version", "max_version"):
            if policy.get(key) and policy[key] not in TLS_VERSIONS:
                raise TLSPolicyError(f"TLS policy of {host}: {key} {policy[key]!r} is not one of {TLS_VERSIONS}")
    return policies


def check_setting_policy(host: object, policy: object, keys: frozenset[str]) -> None:
    """Refuse a ``TLS_POLICIES`` entry that would be ignored or crash the crawl: not a table, an unknown key (a
    typo would silently leave the host on the default TLS options), or a value of the wrong type."""
    if not isinstance(host, str) or not host:
        raise TLSPolicyError(f"TLS policy host {host!r}: expected a host name")
    if not isinstance(policy, dict):
        raise TLSPolicyError(f"TLS policy of {host}: expected an object like {{\"max_version\": \"TLSv1.2\"}}, "
                             f"got {policy!r}")
    unknown = sorted(set(policy) - keys)
    if unknown:
        raise TLSPolicyError(f"TLS policy of {host}: unknown key(s) {', '.join(map(repr, unknown))} (known: "
                             f"{', '.join(sorted(keys))})")
    if "verify" in policy and not isinstance(policy["verify"], bool):
        raise TLSPolicyError(f"TLS policy of {host}: verify must be true or false, got {policy['verify']!r}")
    for key in ("min_version", "max_version", "ciphers", "reason"):
        if key in policy and not isinstance(policy[key], str):
            raise TLSPolicyError(f"TLS policy of {host}: {key} must be a string, got {policy[key]!r}")


def describe(policy: dict[str, Any]) -> str:
    """A one-line summary of what a policy relaxes, for the log."""
    parts = [f"{k}={policy[k]}" for k in ("min_version", "max_version", "ciphers") if policy.get(k)]
    if "verify" in policy:
        parts.append(f"verify={'on' if policy['verify'] else 'off'}")
    return ", ".join(parts) + (f" ({policy['reason']})" if policy.get("reason") else "")


class _RawCipherOptions(_ScrapyCertificateOptions):
    """Certificate options that apply an OpenSSL cipher string verbatim.

    Twisted turns a cipher string into a list of cipher names, which drops directives such as ``@SECLEVEL=1``;
    the weak-DH servers need exactly that directive, so it is set on each new context as written.
    """

    def __init__(self, *args: Any, cipher_string: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cipher_string = cipher_string

    def _makeContext(self, *args: Any, **kwargs: Any) -> SSL.Context:
        ctx = super()._makeContext(*args, **kwargs)
        ctx.set_cipher_list(self._cipher_string.encode("ascii"))
        return ctx


class PolicyContextFactory(_ScrapyClientContextFactory):
    """Scrapy's client context factory for one host's policy: versions, a raw cipher string, verification."""

    def __init__(self, *, cipher_string: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cipher_string = cipher_string

    def _get_cert_options(self) -> _RawCipherOptions:
        return _RawCipherOptions(cipher_string=self.cipher_string, **self._get_cert_options_kwargs())

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """Without verification Scrapy's path (which calls our options); with it, Twisted's verifying options."""
        if not self._verify_certificates:
            return super().creatorForNetloc(hostname, port)
        options = _RawCipherOptions(cipher_string=self.cipher_string, trustRoot=platformTrust(),
                                    **self._get_cert_options_kwargs())
        if TWISTED_TLS_NEW_IMPL:
            return ClientTLSOptions(options._makeTLSConnection, hostname.decode("ascii"))
        return ClientTLSOptions(hostname.decode("ascii"), options.getContext())


@implementer(IPolicyForHTTPS)
class PerHostTLSPolicy:
    """TLS options per host: the policy host's own, or the default factory's for every other host."""

    def __init__(self, default: Any, policies: dict[str, dict[str, Any]], *, verify_default: bool,
                 ciphers_default: str = "DEFAULT") -> None:
        self.default = default
        self.policies = {h.lower().removeprefix("www."): p for h, p in policies.items()}
        self.verify_default = verify_default
        self.ciphers_default = ciphers_default
        self._factories: dict[str, PolicyContextFactory] = {}

    @classmethod
    def from_settings(cls, default: Any, settings: BaseSettings) -> PerHostTLSPolicy:
        """Policies from the registry and ``TLS_POLICIES``, wrapped around ``default``."""
        return cls(default, policies_from_settings(settings),
                   verify_default=settings.getbool("DOWNLOAD_VERIFY_CERTIFICATES"),
                   ciphers_default=settings.get("DOWNLOADER_CLIENT_TLS_CIPHERS") or "DEFAULT")

    def policy_for(self, host: str) -> dict[str, Any] | None:
        """The policy of ``host`` (``www.`` ignored), if any."""
        return self.policies.get(host.lower().removeprefix("www."))

    def _factory(self, host: str, policy: dict[str, Any]) -> PolicyContextFactory:
        factory = self._factories.get(host)
        if factory is None:
            versions = {f"tls_{k}": _TWISTED_VERSION_MAP[policy[k]] for k in ("min_version", "max_version")
                        if policy.get(k)}
            factory = PolicyContextFactory(
                method=None, cipher_string=policy.get("ciphers") or self.ciphers_default,
                verify_certificates=bool(policy.get("verify", self.verify_default)), **versions)
            self._factories[host] = factory
            logger.warning("TLS policy for %s%s: %s", host,
                           f" (portal {policy['portal']})" if policy.get("portal") else "", describe(policy))
        return factory

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """Client TLS options for one connection to ``hostname:port``."""
        host = hostname.decode("ascii").lower().removeprefix("www.")
        policy = self.policy_for(host)
        if policy is None:
            return self.default.creatorForNetloc(hostname, port)
        return self._factory(host, policy).creatorForNetloc(hostname, port)
