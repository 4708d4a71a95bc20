// Event page: replay the keypoint trace by moving the skeleton's own SVG lines and dots.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("replay-data").textContent);
  var svg = document.getElementById("skeleton");
  var box = document.getElementById("replay");
  var play = document.getElementById("replay-play");
  var slider = document.getElementById("replay-frame");
  var clock = document.getElementById("replay-time");
  if (!svg || !data.frames.length) { return; }
  var bones = svg.querySelectorAll(".sk-bone");
  var joints = svg.querySelectorAll(".sk-joint");
  var trunk = svg.querySelector(".sk-trunk");
  var timer = null;
  function show(i) {
    var f = data.frames[i];
    bones.forEach(function (line) {
      var b = data.bones[+line.getAttribute("data-bone")];
      line.setAttribute("x1", f[b[0]][0]); line.setAttribute("y1", f[b[0]][1]);
      line.setAttribute("x2", f[b[1]][0]); line.setAttribute("y2", f[b[1]][1]);
      line.classList.toggle("sk-faint", Math.min(f[b[0]][2], f[b[1]][2]) < 0.5);
    });
    joints.forEach(function (dot) {
      var p = f[+dot.getAttribute("data-joint")];
      dot.setAttribute("cx", p[0]); dot.setAttribute("cy", p[1]);
      dot.classList.toggle("sk-faint", p[2] < 0.5);
    });
    var t = data.trunk;
    trunk.setAttribute("x1", (f[t[0]][0] + f[t[1]][0]) / 2); trunk.setAttribute("y1", (f[t[0]][1] + f[t[1]][1]) / 2);
    trunk.setAttribute("x2", (f[t[2]][0] + f[t[3]][0]) / 2); trunk.setAttribute("y2", (f[t[2]][1] + f[t[3]][1]) / 2);
    slider.value = i;
    clock.textContent = (i / data.rate_hz).toFixed(1) + " s";
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "▶ Replay"; }
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    var i = +slider.value >= data.frames.length - 1 ? 0 : +slider.value;
    play.textContent = "❚❚ Pause";
    show(i);
    timer = setInterval(function () {
      i += 1;
      if (i >= data.frames.length) { stop(); return; }
      show(i);
    }, 1000 / data.rate_hz);
  });
  slider.addEventListener("input", function () { stop(); show(+slider.value); });
  box.hidden = false;
})();
