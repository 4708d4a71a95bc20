// Practice page: start and stop a session, draw the live skeleton and back line from
// server-sent events, list the reps with their cue, show the summary at stop.
(function () {
  "use strict";
  var form = document.getElementById("practice-form");
  if (!form || !window.EventSource) { return; }
  var NS = "http://www.w3.org/2000/svg";
  var W = 400, H = 300, ASPECT = 4 / 3;
  var csrf = document.querySelector("meta[name=csrf]").content;
  var bones = JSON.parse(document.getElementById("practice-bones-data").textContent);
  var drill = document.getElementById("practice-drill");
  var device = document.getElementById("practice-device");
  var startBtn = document.getElementById("practice-start");
  var stopBtn = document.getElementById("practice-stop");
  var state = document.getElementById("practice-state");
  var back = document.getElementById("practice-back");
  var backWord = document.getElementById("practice-back-word");
  var reps = document.getElementById("practice-reps");
  var gBones = document.getElementById("practice-bones");
  var gJoints = document.getElementById("practice-joints");
  var lines = [], dots = [], source = null, frames = 0;
  // Each frame's delay from the device to this page, for the benchmark.
  window.practiceDelays = [];
  bones.forEach(function (b) {
    var l = document.createElementNS(NS, "line");
    l.setAttribute("class", "sk-bone"); gBones.appendChild(l); lines.push(l);
  });
  for (var i = 0; i < 33; i++) {
    var c = document.createElementNS(NS, "circle");
    c.setAttribute("class", "sk-joint"); c.setAttribute("r", "3.5");
    gJoints.appendChild(c); dots.push(c);
  }
  // Frame-normalised x, y to the drawing: a fixed frame, x by the picture's aspect.
  function px(p) { return [(p[0] * ASPECT * H + (W - ASPECT * H) / 2), p[1] * H]; }
  function say(text, on) { state.textContent = text; state.className = "live " + (on ? "on" : "off"); }
  function draw(f) {
    frames += 1;
    document.getElementById("practice-frames").textContent = frames;
    var delay = Date.now() - Date.parse(f.sent_at);
    window.practiceDelays.push(delay);
    document.getElementById("practice-delay").textContent = delay + " ms";
    document.getElementById("practice-trunk").textContent = f.trunk_deg === null ? "—" : Math.round(f.trunk_deg) + "°";
    var s = f.skeleton;
    gBones.style.display = gJoints.style.display = s ? "" : "none";
    if (s) {
      bones.forEach(function (b, k) {
        var a = px(s[b[0]]), z = px(s[b[1]]);
        lines[k].setAttribute("x1", a[0]); lines[k].setAttribute("y1", a[1]);
        lines[k].setAttribute("x2", z[0]); lines[k].setAttribute("y2", z[1]);
        lines[k].classList.toggle("sk-faint", Math.min(s[b[0]][2], s[b[1]][2]) < 0.5);
      });
      s.forEach(function (p, k) {
        var q = px(p);
        dots[k].setAttribute("cx", q[0]); dots[k].setAttribute("cy", q[1]);
        dots[k].classList.toggle("sk-faint", p[2] < 0.5);
      });
    }
    var word = f.back ? f.back.straightness : "hidden";
    back.setAttribute("points", f.back ? f.back.points.map(function (p) { return px(p).join(","); }).join(" ") : "");
    back.setAttribute("class", "back-line back-" + word);
    backWord.textContent = "back line: " + word;
    backWord.className = "back-" + word + "-t";
    if (f.rep) { addRep(f.rep); }
  }
  function addRep(r) {
    if (document.getElementById("rep-" + r.index)) { return; }
    var li = document.createElement("li");
    li.id = "rep-" + r.index;
    li.className = "rep p-" + r.posture + (r.good ? " good" : "");
    var badge = document.createElement("span");
    badge.className = "badge p-" + r.posture; badge.textContent = r.posture;
    var cue = document.createElement("span");
    cue.className = "cue"; cue.textContent = (r.good ? "good: " : "") + r.cue;
    li.appendChild(badge); li.appendChild(document.createTextNode(" ")); li.appendChild(cue);
    reps.appendChild(li);
  }
  function summary(s) {
    (s.rep_scores || []).forEach(addRep);
    document.getElementById("summary-reps").textContent = s.reps;
    document.getElementById("summary-good").textContent = s.good;
    document.getElementById("summary-share").textContent = s.good_share === null ? "—" : Math.round(s.good_share * 100) + "%";
    document.getElementById("summary-next").textContent = s.practise_next;
    document.getElementById("practice-summary").hidden = false;
    say("session over", false);
  }
  function listen() {
    if (source) { source.close(); }
    source = new EventSource("/live/practice?device=" + encodeURIComponent(device.value));
    source.onopen = function () { state.classList.add("streaming"); };
    source.addEventListener("frame", function (e) { draw(JSON.parse(e.data)); });
    source.addEventListener("summary", function (e) { summary(JSON.parse(e.data)); });
  }
  function post(what, body) {
    return fetch("/api/practice/" + what, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error(j.detail || r.status); } return j; }); });
  }
  startBtn.addEventListener("click", function () {
    reps.textContent = ""; frames = 0;
    document.getElementById("practice-summary").hidden = true;
    listen();
    post("start", {device: device.value, drill: drill.value}).then(function () {
      say("practising: " + drill.options[drill.selectedIndex].text, true);
      startBtn.disabled = true; stopBtn.disabled = false;
    }).catch(function (err) { say("not started: " + err.message, false); });
  });
  stopBtn.addEventListener("click", function () {
    post("stop", {device: device.value}).then(function () {
      say("stopped: waiting for the summary…", false);
      startBtn.disabled = false; stopBtn.disabled = true;
    }).catch(function (err) { say("not stopped: " + err.message, false); });
  });
  if (state.getAttribute("data-open")) {  // a session this dashboard opened is still on
    listen(); say("practising", true); startBtn.disabled = true; stopBtn.disabled = false;
  }
})();
