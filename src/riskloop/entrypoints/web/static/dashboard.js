/* riskloop dashboard: charts from JSON blocks, and how htmx answers are shown.
   No inline scripts anywhere (the Content-Security-Policy allows this origin's files only). */
(function () {
  "use strict";

  /* Draw every <canvas data-chart="ID"> from the Chart.js config in <script id="ID">. */
  function drawCharts(root) {
    if (typeof window.Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (window.Chart.getChart(canvas)) { return; }
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }

  function say(text) {
    var flash = document.getElementById("flash");
    if (!flash) { return; }
    var p = document.createElement("p");
    p.className = "msg error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    flash.replaceChildren(p);
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:load", function (evt) { drawCharts(evt.detail.elt); });

  /* htmx leaves 4xx/5xx answers unswapped. The server marks the ones meant to be shown
     (HX-Retarget: a message for #flash, or field errors beside a form); any other failure
     (a 403 from the access layer, a lost connection) gets a plain message. */
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status < 400) { return; }
    if (xhr.getResponseHeader("HX-Retarget")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
      return;
    }
    evt.detail.shouldSwap = false;
    if (xhr.status === 401) { say("Your session has ended. Sign in again."); }
    else if (xhr.status === 403) { say("Your role does not allow this."); }
    else { say("The request failed (HTTP " + xhr.status + ")."); }
  });
  document.addEventListener("htmx:sendError", function () {
    say("The server could not be reached. Try again.");
  });

  /* A queue row that leaves after a one-click resolution takes the focus with it: give it
     to the next row's first button (or the page's heading) so keyboard work continues.
     (htmx tells the row's parent once the row is gone: that event reaches the page.) */
  var leaving = null;
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var row = evt.detail.elt.closest && evt.detail.elt.closest("tr.queue-row");
    if (!row) { return; }
    var next = row.nextElementSibling || row.previousElementSibling;
    leaving = { row: row, nextId: next ? next.id : "" };
  });
  document.addEventListener("htmx:afterRequest", function () {
    if (!leaving || leaving.row.isConnected) { return; }
    var next = leaving.nextId ? document.getElementById(leaving.nextId) : null;
    var button = next && next.querySelector("button");
    var heading = document.querySelector("main h1");
    leaving = null;
    if (button) { button.focus(); }
    else if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });
})();
