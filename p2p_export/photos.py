"""Photo processing (Pillow): only real images are accepted, and only the processed copy leaves.

The processed copy is a fresh JPEG: orientation applied from EXIF (``ImageOps.exif_transpose``),
cropped and resized to the platform's size, re-encoded without any metadata (no EXIF, no GPS, no
ICC or comments), so nothing of the phone or the place where it was taken is published.
"""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG"})
# Larger than any phone photo; a file declaring more pixels is a decompression bomb.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85


def _not_an_image() -> ValidationError:
    return ValidationError(
        {"photo": _("This file is not a photo we can use; upload a JPEG or PNG image.")},
        code="not_an_image",
    )


def _bomb() -> ValidationError:
    return ValidationError(
        {
            "photo": _("The image has too many pixels (over %(limit)s megapixels).")
            % {"limit": MAX_PIXELS // 1_000_000}
        },
        code="decompression_bomb",
    )


def process_photo(data: bytes, *, width: int, height: int) -> bytes:
    """Check ``data`` is a real JPEG or PNG photo and return the processed JPEG copy."""
    limit = settings.UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise ValidationError(
            {
                "photo": _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
                % {"size": round(len(data) / 1_048_576, 1), "limit": round(limit / 1_048_576, 1)}
            },
            code="file_too_large",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise _not_an_image()
                if probe.width * probe.height > MAX_PIXELS:
                    raise _bomb()
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb() from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise _not_an_image() from exc
    fitted = ImageOps.fit(upright.convert("RGB"), (width, height), centering=(0.5, 0.4))
    output = io.BytesIO()
    fitted.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()
