// Polls a handover's progress while it is being made; reloads the page when it ends.
(function () {
  var panel = document.getElementById("progress-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-url");
  function tick() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (p) {
        if (p.status !== "building") { window.location.reload(); return; }
        document.getElementById("progress-done").textContent = p.done;
        document.getElementById("progress-total").textContent = p.total;
        var bar = document.getElementById("progress-bar");
        bar.style.width = p.percent + "%";
        bar.parentNode.setAttribute("aria-valuenow", p.percent);
        window.setTimeout(tick, 1500);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1000);
})();
