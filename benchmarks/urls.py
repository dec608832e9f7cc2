"""The product's URLs plus one trivial API view: the same authentication, permission check,
JSON parsing and rendering as any API call, and no work. It is the reference the repayment
API's cost is compared with (``bench_repayments_api.py``)."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from mfi.urls import urlpatterns as product_urlpatterns


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def trivial(request):
    return Response({"ok": True, "echo": request.data}, status=201)


urlpatterns = [path("bench/trivial/", trivial), *product_urlpatterns]
