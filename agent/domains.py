"""Registrable domains of page addresses, and throw-away domains.

Whether a page is a bank's own or poses as it depends on the page's domain
(docs/detection.md, "Own, mention, impersonation"). "The domain" is the
registrable domain (eTLD+1) by the Public Suffix List: ``mybank.icbc.com.cn``
-> ``icbc.com.cn``, ``bank.pingan.com`` -> ``pingan.com``, ``a.b.github.io`` ->
``b.github.io``. Hostnames are never split by hand: the list is the
``publicsuffixlist`` package's bundled copy, read from the installed package,
never fetched.

Everything here is a pure function of its arguments. The list is the
package's own static data, loaded once at first use; the signature loader
checks every official domain with it, so it is loaded before the engine
judges anything and the engine itself never reads a file. A leaf helper of
the model layer: the engine and the signature schema both use it.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Iterable, Optional, Sequence
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

_HOST_RE = re.compile(r"^[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?"
                      r"(?:\.[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?)+$")


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # accept_unknown=False: "setup.py" or "node.js" have no known suffix and so
    # are not domains at all.
    return PublicSuffixList(accept_unknown=False)


def host_of(url: str) -> Optional[str]:
    """The lower-cased host name of ``url`` (with or without a scheme), or None.

    Punycode labels are decoded, so ``xn--`` and Unicode spellings compare
    equal; a trailing dot and a port are dropped.
    """
    text = (url or "").strip()
    if not text:
        return None
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    if "xn--" in host:
        try:
            host = host.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            pass
    return host or None


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registrable_domain(url_or_host: str) -> Optional[str]:
    """The registrable domain (eTLD+1) of a URL or host name, or None.

    None for IP addresses, ``localhost`` and names with no known public
    suffix: such pages have no domain to compare with an institution's.
    """
    host = host_of(url_or_host)
    if host is None or is_ip_address(host) or not _HOST_RE.match(host):
        return None
    return _psl().privatesuffix(host)


def public_suffix(domain: str) -> Optional[str]:
    """The public suffix of ``domain`` (``com.cn`` for ``icbc.com.cn``), or None."""
    return _psl().publicsuffix(domain) if domain else None


def looks_like_domain(text: str) -> bool:
    """True when ``text`` (a title segment) is a host name or URL with a known suffix."""
    text = text.strip()
    if not text or " " in text or "." not in text:
        return False
    return registrable_domain(text) is not None


def on_domains(host_or_url: str, domains: Iterable[str]) -> bool:
    """True when the page's host is one of ``domains`` or below one of them.

    An entry may be a registrable domain (``icbc.com.cn``: every host under it)
    or a host below one (``bank.pingan.com``: that host and its subdomains only,
    since pingan.com also hosts the insurer).
    """
    host = host_of(host_or_url)
    if host is None:
        return False
    for domain in domains:
        domain = domain.lower().rstrip(".")
        if host == domain or host.endswith("." + domain):
            return True
    return False


def domain_label(domain: str) -> str:
    """The label left of the public suffix: ``icbc`` for ``icbc.com.cn``."""
    suffix = public_suffix(domain) or ""
    label = domain[: -len(suffix) - 1] if suffix and domain.endswith("." + suffix) else domain
    return label.rsplit(".", 1)[-1]


def is_throwaway(domain: Optional[str], cheap_tlds: Sequence[str]) -> bool:
    """True for a digit or digit-letter label on a cheap TLD, as ``2406578.top``.

    The rule (spec: the Tianjin police's case report): the label left of the
    public suffix is all digits (4 or more), or letters and digits with at
    least 3 digits (``88a7k3``), and the suffix is one of ``cheap_tlds``.
    A real brand with a number in it (``360.cn``, ``web3.xyz``) is not.
    """
    if not domain:
        return False
    suffix = public_suffix(domain)
    if suffix is None or suffix not in cheap_tlds:
        return False
    label = domain_label(domain)
    if not re.fullmatch(r"[a-z0-9-]+", label):
        return False
    digits = sum(ch.isdigit() for ch in label)
    if label.replace("-", "").isdigit():
        return digits >= 4
    return digits >= 3


def looks_alike(domain: Optional[str], official: Iterable[str]) -> Optional[str]:
    """The official domain ``domain`` imitates, or None.

    A look-alike carries an official domain's label as a word of its own
    (``icbc-verify.com``, ``cmbchina-vip.top``) or starts with a long one
    (``paypalsecure.net``), without being that domain. Labels shorter than 4
    letters (``ccb``, ``boc``) only count as whole words.
    """
    if not domain:
        return None
    label = domain_label(domain)
    words = [w for w in re.split(r"[-0-9]+", label) if w]
    for official_domain in official:
        official_domain = official_domain.lower()
        reg = registrable_domain(official_domain) or official_domain
        if domain == reg:
            return None
        want = domain_label(reg)
        if len(want) < 3:
            continue
        if want in words or (len(want) >= 5 and label.startswith(want)):
            return reg
    return None
