"""Photo processing: only real images, no metadata out, upright, the platform's size."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from p2p_export import services
from p2p_export.photos import process_photo
from tests.p2p_export.factories import jpeg_bytes, make_platform, recent_loan, upload

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (14.0, 55.0, 12.0), 3: "W", 4: (23.0, 30.0, 45.0)}
    return exif


def test_gps_and_every_other_metadata_are_stripped():
    # given a phone photo that says where it was taken
    original = jpeg_bytes(exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)

    # when
    processed = process_photo(original, width=400, height=300)

    # then
    image = Image.open(io.BytesIO(processed))
    assert image.format == "JPEG"
    assert image.size == (400, 300)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"PhoneMaker" not in processed


def test_orientation_is_applied_before_resizing():
    # given a landscape picture, left half red, right half blue, that the phone marks as
    # "rotate 90° clockwise": upright, red is on top and blue below
    image = Image.new("RGB", (600, 300), (255, 0, 0))
    image.paste((0, 0, 255), (300, 0, 600, 300))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)

    # when
    result = Image.open(io.BytesIO(process_photo(buffer.getvalue(), width=400, height=300)))

    # then
    top, bottom = result.getpixel((200, 5)), result.getpixel((200, 295))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_png_is_accepted_and_reencoded_as_jpeg():
    # when
    processed = process_photo(jpeg_bytes(fmt="PNG"), width=400, height=300)

    # then
    assert Image.open(io.BytesIO(processed)).format == "JPEG"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4 a document", b"\xff\xd8\xff\xe0 not really a jpeg", b"GIF89a" + b"\x00" * 40],
)
def test_non_images_are_rejected(data):
    # when
    with pytest.raises(ValidationError) as caught:
        process_photo(data, width=400, height=300)

    # then
    assert caught.value.message_dict == {
        "photo": ["This file is not a photo we can use; upload a JPEG or PNG image."]
    }


@pytest.mark.parametrize("size", [(8000, 6000), (11000, 10000)])
def test_decompression_bombs_are_rejected(size):
    # given a tiny file that declares tens of millions of pixels
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 200_000

    # when
    with pytest.raises(ValidationError) as caught:
        process_photo(buffer.getvalue(), width=400, height=300)

    # then
    assert caught.value.message_dict == {
        "photo": ["The image has too many pixels (over 40 megapixels)."]
    }


def test_oversized_files_are_rejected(settings):
    # given
    settings.UPLOAD_MAX_BYTES = 1_048_576

    # when
    with pytest.raises(ValidationError) as caught:
        process_photo(b"\xff\xd8\xff" + b"0" * 1_200_000, width=400, height=300)

    # then
    assert caught.value.message_dict == {
        "photo": ["The file is too large (1.1 MB); the limit is 1.0 MB."]
    }


def test_photo_add_keeps_the_original_private_and_the_processed_copy_clean(
    manager, loan_officer, branch_manager, rules
):
    # given
    platform = make_platform(photo_width=320, photo_height=240)
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)
    original = jpeg_bytes(exif=gps_exif())

    # when
    photo = services.photo_add(actor=manager, publication=publication, file=upload(original))

    # then
    assert photo.original.read() == original
    assert photo.original.name.startswith(f"p2p/photos/{publication.pk}/original/")
    processed = Image.open(photo.processed)
    assert processed.size == (320, 240)
    assert dict(processed.getexif()) == {}
    assert (photo.person_id, photo.is_primary) == (loan.borrower_id, True)
    publication.refresh_from_db()
    assert publication.state == "prepared"


def test_a_rejected_photo_changes_nothing(manager, loan_officer, branch_manager, rules):
    # given
    platform = make_platform()
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)

    # when
    with pytest.raises(ValidationError):
        services.photo_add(
            actor=manager, publication=publication, file=upload(b"%PDF-1.4", "x.jpg")
        )

    # then
    publication.refresh_from_db()
    assert (publication.photos.count(), publication.state) == (0, "selected")
