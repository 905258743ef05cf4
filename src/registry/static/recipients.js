// Recipient search for the draft form: asks the directory's JSON API as the user types and
// adds the chosen organisation's registration number to the recipients field.
(function () {
  "use strict";
  var box = document.getElementById("recipient-search");
  var field = document.querySelector("textarea.recipients-input");
  if (!box || !field || !window.fetch) { return; }
  var input = document.getElementById("recipient-q");
  var hits = document.getElementById("recipient-hits");
  var url = box.getAttribute("data-directory");
  var timer = null, pending = null;

  function add(regno) {
    var current = field.value.split(/[\s,;]+/).filter(Boolean);
    if (current.indexOf(regno) < 0) { current.push(regno); }
    field.value = current.join(" ");
  }

  function show(items) {
    hits.innerHTML = "";
    items.forEach(function (org) {
      var item = document.createElement("button");
      item.type = "button";
      item.className = "list-group-item list-group-item-action";
      item.textContent = org.regno + " — " + org.name;
      item.addEventListener("click", function () { add(org.regno); hits.innerHTML = ""; input.value = ""; });
      hits.appendChild(item);
    });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (pending) { pending.abort(); }
      if (!input.value.trim()) { show([]); return; }
      pending = new AbortController();
      fetch(url + "?b_size=8&q=" + encodeURIComponent(input.value),
            { signal: pending.signal, credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) { show(body.items); })
        .catch(function (e) { if (e.name !== "AbortError") { throw e; } });
    }, 120);
  });
})();
