#!/usr/bin/env bash
# Deterministic test videos made by ffmpeg itself: scripts/make-fixtures.sh OUTDIR [quick]
# "quick" makes only the small ones. Needs ffmpeg on PATH.
set -euo pipefail
out=${1:?usage: make-fixtures.sh OUTDIR [quick]}
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
tone='sine=frequency=440:sample_rate=48000'

# 10 s 720p30 with stereo audio: the everyday small upload
[ -f "$out/small-720p.mp4" ] || ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=10" -f lavfi -i "$tone:duration=10" \
  -ac 2 -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -shortest "$out/small-720p.mp4"
# portrait phone video, 6 s
[ -f "$out/portrait-720x1280.mp4" ] || ff -f lavfi -i "testsrc2=size=720x1280:rate=30:duration=6" -f lavfi -i "$tone:duration=6" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$out/portrait-720x1280.mp4"
# no audio track, 6 s
[ -f "$out/silent-640x360.mp4" ] || ff -f lavfi -i "testsrc2=size=640x360:rate=25:duration=6" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$out/silent-640x360.mp4"
# WebM VP8 + Vorbis, 6 s
[ -f "$out/vp8.webm" ] || ff -f lavfi -i "testsrc2=size=854x480:rate=30:duration=6" -f lavfi -i "$tone:duration=6" \
  -c:v libvpx -b:v 1M -c:a libvorbis -shortest "$out/vp8.webm"
# not a video at all, and a video cut in half
[ -f "$out/not-a-video.mp4" ] || printf 'this is plain text pretending to be an mp4\n%.0s' {1..200} > "$out/not-a-video.mp4"
[ -f "$out/truncated.mp4" ] || head -c 300000 "$out/small-720p.mp4" > "$out/truncated.mp4"
# phone video: stored 640x360 with a 90° display rotation (shown portrait), 4 s
[ -f "$out/rotated-640x360.mp4" ] || { ff -f lavfi -i "testsrc2=size=640x360:rate=30:duration=4" -f lavfi -i "$tone:duration=4" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$out/rotated.tmp.mp4" \
  && ff -i "$out/rotated.tmp.mp4" -c copy -metadata:s:v:0 rotate=90 "$out/rotated-640x360.mp4"; rm -f "$out/rotated.tmp.mp4"; }
# anamorphic PAL widescreen: 720x576 stored, sample aspect ratio 64:45 (shown 1024x576), 4 s, no audio
[ -f "$out/anamorphic-720x576.mp4" ] || ff -f lavfi -i "testsrc2=size=720x576:rate=25:duration=4" -vf setsar=64/45 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$out/anamorphic-720x576.mp4"
# For chunked encoding, whose output must equal the one-pass encode frame for frame:
# 16.5 s 720p30 with temporal noise (hard to encode, so rate control shows at chunk boundaries),
# a source GOP of 250 frames (off the 2 s grid) and 44.1 kHz audio that is resampled
[ -f "$out/chunks-720p-16s.mp4" ] || ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=16.5,noise=alls=6:allf=t" \
  -f lavfi -i "sine=frequency=330:beep_factor=3:sample_rate=44100:duration=16.5" -ac 2 -c:v libx264 -preset veryfast -crf 18 \
  -pix_fmt yuv420p -c:a aac -shortest "$out/chunks-720p-16s.mp4"
# 29.97 fps (frame times never land on whole seconds), 13.5 s
[ -f "$out/ntsc-640x360.mp4" ] || ff -f lavfi -i "testsrc2=size=640x360:rate=30000/1001:duration=13.5" -f lavfi -i "$tone:duration=13.5" \
  -ac 2 -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$out/ntsc-640x360.mp4"
# the same with its video starting 0.1 s after its audio (an edit list), as some cameras write it
[ -f "$out/offset-640x360.mp4" ] || ff -itsoffset 0.1 -i "$out/ntsc-640x360.mp4" -i "$out/ntsc-640x360.mp4" -map 0:v -map 1:a \
  -c copy "$out/offset-640x360.mp4"
# 120 fps, encoded at 60 fps, 10 s
[ -f "$out/hfr-640x360-120fps.mp4" ] || ff -f lavfi -i "testsrc2=size=640x360:rate=120:duration=10" -f lavfi -i "$tone:duration=10" \
  -ac 2 -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$out/hfr-640x360-120fps.mp4"
# variable frame rate: 5.5 s at 30 fps, then 4.5 s at 24 fps, in one stream
[ -f "$out/vfr-640x360.mp4" ] || ff -f lavfi -i "testsrc2=size=640x360:rate=30:duration=5.5" -f lavfi -i "testsrc2=size=640x360:rate=24:duration=4.5" \
  -f lavfi -i "$tone:duration=10" -filter_complex "[0:v][1:v]concat=n=2:v=1:a=0[v]" -map "[v]" -map 2:a -fps_mode vfr \
  -ac 2 -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$out/vfr-640x360.mp4"
[ "${2:-}" = quick ] && exit 0

# 20 s 1080p30 at about 20 Mbps with noise: the mezzanine for size and quality measurements
[ -f "$out/mezzanine-1080p-20mbps.mp4" ] || ff -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=20,noise=alls=12:allf=t" \
  -f lavfi -i "$tone:duration=20" -ac 2 -c:v libx264 -preset veryfast -b:v 20M -maxrate 22M -bufsize 40M -pix_fmt yuv420p \
  -c:a aac -b:a 192k -shortest "$out/mezzanine-1080p-20mbps.mp4"
# 2 minutes 1080p30: for pipeline-versus-bare-ffmpeg benchmarks
[ -f "$out/bench-1080p-120s.mp4" ] || ff -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=120" -f lavfi -i "$tone:duration=120" \
  -ac 2 -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -shortest "$out/bench-1080p-120s.mp4"
