"""Web addresses: what a URL names, made sendable, and whether its host is on the public web.

:func:`parse_url` takes a URL apart as a browser would send it: the path and query
percent-encoded as UTF-8 (``café.jpg`` → ``caf%C3%A9.jpg``), the host name IDNA-encoded
(``bär.example`` → ``xn--br-via.example``). :func:`is_public_address` says whether an IP address
is one that a download may connect to.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BadURL(ValueError):
    """A URL that cannot be downloaded from; the message says why."""


@dataclass(frozen=True)
class WebAddress:
    """A URL taken apart and made sendable: ``scheme://host:port/target``."""

    scheme: str
    host: str  # ASCII: IDNA-encoded, or an IP address without brackets
    port: int
    target: str  # path and query, percent-encoded

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target}"


def parse_url(url: str) -> WebAddress:
    """Check ``url`` and percent-encode what needs it; raise :class:`BadURL` saying what is wrong.

    Only ``http`` and ``https`` are accepted. Spaces and non-ASCII characters of the path and
    query are percent-encoded as UTF-8 (what browsers do); ``%XX`` already there is kept. A
    non-ASCII host name is IDNA-encoded; a host label longer than 63 characters, a name
    longer than 253, or a broken ``[IPv6]`` literal is malformed.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise BadURL(f"malformed URL ({err})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL("not an http(s) URL")
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host:
        raise BadURL("malformed URL (no host name)")
    if ":" in host:  # an IPv6 literal; urlsplit checked the brackets
        try:
            host = str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError:
            raise BadURL(f"malformed URL (bad IPv6 address {host!r})") from None
    else:
        host = _ascii_host(host.rstrip("."))
    target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    default = 443 if scheme == "https" else 80
    return WebAddress(scheme, host, port if port is not None else default, target)


def _ascii_host(host: str) -> str:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as err:
        labels = host.split(".")
        longest = max(labels, key=len)
        why = (f"the host name part {longest[:20]}… has {len(longest)} characters, at most 63 "
               f"are allowed" if len(longest) > 63 else f"bad host name ({err})")
        raise BadURL(f"malformed URL ({why})") from None
    if len(ascii_host) > 253 or not all(c.isalnum() or c in "-._" for c in ascii_host):
        raise BadURL(f"malformed URL (bad host name {host[:40]!r})")
    return ascii_host.lower()


def is_public_address(address: str) -> bool:
    """True for an address on the public internet.

    Refused: loopback, private, link-local, reserved, multicast, unspecified (``ipaddress``'s
    ``is_global`` and ``is_multicast``), also when wrapped in an IPv6 form that carries an IPv4
    address (IPv4-mapped ``::ffff:10.0.0.5``, NAT64, 6to4, Teredo).
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    inner: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            inner.append(ip.sixtofour)
        if ip.teredo is not None:
            inner += list(ip.teredo)
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(a.is_global and not a.is_multicast for a in inner)
