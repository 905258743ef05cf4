"""Security: permissions, principals, the policy, sessions, CSRF, passwords, API tokens."""
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.session import SignedCookieSessionFactory

from registry.security.policy import RegistrySecurityPolicy, find_account, is_token_request
from registry.security.sessions import ISessionPolicy, SessionPolicy
from registry.security.throttle import (
    AddressThrottle, IAddressThrottle, IJoinThrottle, client_address)
from registry.settings import (join_attempts, secure_cookies, session_secret,
                               session_timeouts, trusted_proxies)


def csrf_applies(request):
    """CSRF protects cookie sessions; a request authenticated by a bearer token carries no
    ambient credential a third-party page could ride on, so it is not checked."""
    return not is_token_request(request)


def includeme(config):
    settings = config.get_settings()
    config.set_session_factory(
        SignedCookieSessionFactory(
            session_secret(settings),
            cookie_name="registry_session",
            httponly=True,
            samesite="Lax",
            secure=secure_cookies(settings),
            timeout=session_timeouts(settings)[0],
            reissue_time=session_timeouts(settings)[0] // 10,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)
    config.set_security_policy(RegistrySecurityPolicy())
    config.add_request_method(find_account, "account", reify=True)
    config.registry.registerUtility(AddressThrottle(), provided=IAddressThrottle)
    config.registry.registerUtility(
        AddressThrottle(limit=join_attempts(settings), window=3600.0),
        provided=IJoinThrottle)
    proxies = trusted_proxies(settings)
    config.add_request_method(lambda request: client_address(request, proxies),
                              "client_address", reify=True)
    config.registry.registerUtility(SessionPolicy.from_settings(settings),
                                    provided=ISessionPolicy)
