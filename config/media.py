"""Serving uploads from the file-system storage with a fixed, safe content type."""

from django.conf import settings
from django.http import Http404
from django.views.static import serve

SAFE_TYPES = {".jpg": "image/jpeg", ".mp4": "video/mp4", ".webm": "video/webm"}


def serve_media(request, path):
    """Only the kinds we write (re-encoded JPEG, checked MP4/WebM); never HTML or scripts."""
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix not in SAFE_TYPES:
        raise Http404
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Content-Type"] = SAFE_TYPES[suffix]
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    return response
