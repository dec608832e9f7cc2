from mfi.navigation import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    return {"menu": menu_for(user) if user is not None else []}
