"""DRF authentication on the `sessions` table: `Authorization: Bearer <token>`."""

from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.errors import InvalidToken
from accounts.selectors import authenticate_token
from config.client_ip import client_ip


class SessionTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise InvalidToken()
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidToken() from exc
        result = authenticate_token(token, ip=client_ip(request.META))
        return result.user, result.session

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
