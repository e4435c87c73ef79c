/* The video of a call (the call page, app.js): the peer connection, signalled over the live
   connection (rtc.offer / rtc.answer / rtc.ice, static/rdv/live.js); the partner's video
   blurred until shown; a report with a still of what it shows. Optional: text always works. */
"use strict";

const RDVCallVideo = (() => {
  const { api, friendly, flash, show } = RDV;
  const $ = (id) => document.getElementById(id);
  let currentRoom = null; // the room of the call page (set by create)

  /** The partner's video starts blurred for every new call; a tap shows it, another blurs it. */
  function blurVideo(blurred) {
    $("remote-video").classList.toggle("blurred", blurred);
    $("video-reveal").hidden = !blurred;
    $("video-blur").hidden = blurred;
  }
  $("video-reveal").addEventListener("click", () => blurVideo(false));
  $("video-blur").addEventListener("click", () => blurVideo(true));

  /** A still of what the partner's video shows now, captured here (nothing is recorded otherwise). */
  function captureStill() {
    const video = $("remote-video");
    if (!video.videoWidth) return Promise.resolve(null);
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  $("video-report").addEventListener("click", async () => {
    const target = currentRoom && currentRoom();
    if (!target) return;
    const still = await captureStill();
    blurVideo(true);
    try {
      const report = await api("POST", "/api/reports", {
        reported_user_id: target.partner.id,
        category: "nudity",
        text: "Reported from the video call.",
        room_id: target.room,
      });
      if (still) {
        const form = new FormData();
        form.append("file", still, "still.jpg");
        await api("POST", `/api/reports/${report.id}/still`, form);
      }
      flash(`Thank you. Your report about ${target.partner.name}, with a still of the video, was sent to the moderators.`, "info");
    } catch (err) {
      flash(friendly(err));
    }
  });

  /** The video of the call page: `room()` and `me()` read its state. */
  function create({ room, me }) {
    currentRoom = room;
    const currentMe = me;
    let pc = null;
    let local = null;
    let starting = null;
    let queued = [];

    const isOfferer = () => currentMe() && currentRoom() && currentMe().id < currentRoom().partner.id;

    function start() {
      if (!starting) starting = setup();
      return starting;
    }

    async function setup() {
      const room = currentRoom();
      blurVideo(true);
      show("video-area");
      let iceServers = [];
      try {
        iceServers = (await api("GET", "/api/rtc/ice-servers")).ice_servers;
      } catch (err) {
        $("video-status").textContent = "No relay servers: " + friendly(err);
      }
      pc = new RTCPeerConnection({ iceServers });
      pc.addEventListener("icecandidate", (e) => {
        RDVLive.send("rtc.ice", { room: room.room, candidate: e.candidate ? e.candidate.toJSON() : null });
      });
      pc.addEventListener("track", (e) => {
        $("remote-video").srcObject = e.streams[0];
      });
      try {
        local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        local.getTracks().forEach((track) => pc.addTrack(track, local));
        $("local-video").srcObject = local;
        $("video-status").textContent = "";
      } catch (err) {
        $("video-status").textContent = "Camera not available (" + (err.name || "blocked") + "): you can still chat by text.";
        pc.addTransceiver("video", { direction: "recvonly" });
        pc.addTransceiver("audio", { direction: "recvonly" });
      }
      if (isOfferer()) {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        RDVLive.send("rtc.offer", { room: room.room, sdp: offer.sdp });
      }
    }

    async function flushIce() {
      for (const candidate of queued) await pc.addIceCandidate(candidate).catch(() => {});
      queued = [];
    }

    async function onOffer(event) {
      if (!currentRoom() || event.room !== currentRoom().room) return;
      await start();
      await pc.setRemoteDescription({ type: "offer", sdp: event.sdp });
      await flushIce();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      RDVLive.send("rtc.answer", { room: currentRoom().room, sdp: answer.sdp });
    }

    async function onAnswer(event) {
      if (!pc || !currentRoom() || event.room !== currentRoom().room) return;
      await pc.setRemoteDescription({ type: "answer", sdp: event.sdp });
      await flushIce();
    }

    async function onIce(event) {
      if (!currentRoom() || event.room !== currentRoom().room || !event.candidate) return;
      if (pc && pc.remoteDescription) await pc.addIceCandidate(event.candidate).catch(() => {});
      else queued.push(event.candidate);
    }

    function stop() {
      if (local) local.getTracks().forEach((track) => track.stop());
      if (pc) pc.close();
      pc = null;
      local = null;
      starting = null;
      queued = [];
      $("remote-video").srcObject = null;
      $("local-video").srcObject = null;
      show("video-area", false);
    }

    return { start, stop, onOffer, onAnswer, onIce };
  }

  return { create, blur: blurVideo };
})();
