// Search-as-you-type for the directory: fetches the server-rendered results for what was
// typed (debounced, older requests cancelled) and keeps the address bar in step. Without
// JavaScript the form submits and the page shows the same results.
(function () {
  "use strict";
  var form = document.getElementById("directory-search");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("input[name=q]");
  var resultsUrl = form.getAttribute("data-results");
  var timer = null, pending = null;

  function refresh() {
    var query = input.value;
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var url = resultsUrl + "?q=" + encodeURIComponent(query);
    fetch(url, { signal: pending.signal, credentials: "same-origin",
                 headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var current = document.getElementById("directory-results");
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#directory-results");
        if (current && fresh) { current.replaceWith(fresh); }
        var address = new URL(window.location.href);
        if (query) { address.searchParams.set("q", query); } else { address.searchParams.delete("q"); }
        address.searchParams.delete("b_start");
        window.history.replaceState(null, "", address.toString());
      })
      .catch(function (error) { if (error.name !== "AbortError") { throw error; } });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); refresh(); });
})();
