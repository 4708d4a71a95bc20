// Today page: swap in the server-rendered fragments whenever the server says something changed.
(function () {
  "use strict";
  var state = document.getElementById("live-state");
  if (!window.EventSource || !state) { return; }
  var source = new EventSource("/live/today");
  function setLive(on) {
    state.textContent = on ? "live" : "reconnecting…";
    state.className = "live " + (on ? "on" : "off");
  }
  source.onopen = function () { setLive(true); };
  source.onerror = function () { setLive(false); };
  source.addEventListener("today", function (event) {
    var parts = JSON.parse(event.data);
    document.getElementById("live-devices").innerHTML = parts.devices;
    document.getElementById("live-bends").innerHTML = parts.bends;
  });
})();
