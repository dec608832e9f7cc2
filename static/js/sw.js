// Service worker of the field screens (served at /compliance/field/sw.js, scope /compliance/field/).
//
// Pages under the scope (the day list, the call / visit forms): network first, the last copy
// kept on the phone when there is no network. Static files: the kept copy at once, refreshed in
// the background. Nothing else is touched; forms are posted by the page (offline-forms.js keeps
// them when there is no network), never by this worker.
"use strict";

const CACHE = "mfi-field-v1";
const SCOPE_PATH = new URL(self.registration.scope).pathname;

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("mfi-field-") && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function isPage(response) {
  return (
    response.ok &&
    !response.redirected &&
    response.type === "basic" &&
    (response.headers.get("Content-Type") || "").startsWith("text/html")
  );
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (isPage(response)) {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (networkError) {
    const url = new URL(request.url);
    const kept =
      (await cache.match(request, { ignoreVary: true })) ||
      // The day list sorted from another place is still the day list.
      (url.pathname === SCOPE_PATH ? await cache.match(url.pathname, { ignoreVary: true, ignoreSearch: true }) : undefined);
    return kept || Response.error();
  }
}

async function staleWhileRevalidate(event) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(event.request, { ignoreVary: true });
  const fresh = fetch(event.request)
    .then((response) => {
      if (response.ok && response.type === "basic") {
        return cache.put(event.request, response.clone()).then(() => response);
      }
      return response;
    })
    .catch(() => kept || Response.error());
  if (kept) {
    event.waitUntil(fresh.then(() => undefined));
    return kept;
  }
  return fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(staleWhileRevalidate(event));
  } else if (url.pathname.startsWith(SCOPE_PATH) && request.headers.get("Accept")?.includes("text/html")) {
    event.respondWith(networkFirst(request));
  }
});
