import { describe, expect, it } from "vitest";
import { finishHlsMaster, finishHlsMediaPlaylist, parseMpd, peakBitrate, setMpdBandwidths } from "./manifest.ts";

/** As written by ffmpeg 5.1's dash muxer for a 10 s, two-rung ladder with audio. */
const MPD = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT10.0S" maxSegmentDuration="PT4.0S" minBufferTime="PT8.0S">
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="30/1" maxWidth="1280" maxHeight="720" par="16:9">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.64001f" bandwidth="2919148" width="1280" height="720" sar="1:1">
				<SegmentTemplate timescale="15360" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="61440" r="1" />
						<S d="30720" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
			<Representation id="1" mimeType="video/mp4" codecs="avc1.64001e" bandwidth="866588" width="854" height="480" sar="1280:1281">
				<SegmentTemplate timescale="15360" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="61440" r="1" />
						<S d="30720" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
		<AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" lang="und">
			<Representation id="2" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="48000">
				<SegmentTemplate timescale="48000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="189440" />
						<S d="191488" />
						<S d="99328" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
`;

const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_2",DEFAULT=YES,URI="media_2.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3064732,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_A1"
media_0.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=987936,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_A1"
media_1.m3u8
`;

const MEDIA = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-MAP:URI="init-0.m4s"
#EXTINF:4.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:40:24.000+0000
chunk-0-00001.m4s
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:40:28.000+0000
chunk-0-00002.m4s
#EXT-X-ENDLIST
`;

describe("parseMpd", () => {
  it("reads adaptation sets, representations and every segment of each timeline", () => {
    const mpd = parseMpd(MPD);
    expect(mpd.type).toBe("static");
    expect(mpd.adaptationSets).toEqual([
      { id: "0", contentType: "video", representationIds: ["0", "1"] },
      { id: "1", contentType: "audio", representationIds: ["2"] },
    ]);
    const [top, low, sound] = mpd.representations;
    expect(top).toMatchObject({ id: "0", kind: "video", width: 1280, height: 720, codecs: "avc1.64001f", sar: "1:1" });
    expect(low).toMatchObject({ id: "1", kind: "video", width: 854, height: 480, sar: "1280:1281" });
    expect(sound).toMatchObject({ id: "2", kind: "audio", width: null, codecs: "mp4a.40.2", timescale: 48000 });
    expect(top?.segments).toEqual([
      { number: 1, start: 0, duration: 61440 },
      { number: 2, start: 61440, duration: 61440 },
      { number: 3, start: 122880, duration: 30720 },
    ]);
    expect(sound?.segments.map((s) => s.start)).toEqual([0, 189440, 380928]);
  });
});

describe("peakBitrate: honest bandwidth", () => {
  it("is the highest segment rate, not the average", () => {
    const peak = peakBitrate(
      [
        { bytes: 500_000, seconds: 4 },
        { bytes: 2_000_000, seconds: 4 },
        { bytes: 250_000, seconds: 2 },
      ],
      4,
    );
    expect(peak).toBe(4_000_000);
  });

  it("counts a tiny last segment together with the one before it", () => {
    const peak = peakBitrate(
      [
        { bytes: 1_000_000, seconds: 4 },
        { bytes: 100_000, seconds: 1 / 30 },
      ],
      4,
    );
    expect(peak).toBe(Math.ceil((1_100_000 * 8) / (4 + 1 / 30)));
  });
});

describe("finishing the manifests", () => {
  it("replaces each Representation's bandwidth by id, leaving the rest untouched", () => {
    const out = setMpdBandwidths(
      MPD,
      new Map([
        ["0", 4_000_000],
        ["2", 131_000],
      ]),
    );
    const mpd = parseMpd(out);
    expect(mpd.representations.map((r) => r.bandwidth)).toEqual([4_000_000, 866_588, 131_000]);
    expect(out.replace(/bandwidth="\d+"/g, "")).toBe(MPD.replace(/bandwidth="\d+"/g, ""));
  });

  it("sets each HLS variant's BANDWIDTH and marks segments independent", () => {
    const out = finishHlsMaster(
      MASTER,
      new Map([
        ["media_0.m3u8", 4_131_000],
        ["media_1.m3u8", 2_000_000],
      ]),
    );
    expect(out).toContain("#EXT-X-STREAM-INF:BANDWIDTH=4131000,RESOLUTION=1280x720,");
    expect(out).toContain("#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=854x480,");
    expect(out.split("\n")[2]).toBe("#EXT-X-INDEPENDENT-SEGMENTS");
  });

  it("marks media playlists VOD and drops the encoder's wall-clock dates", () => {
    const out = finishHlsMediaPlaylist(MEDIA);
    expect(out).not.toContain("PROGRAM-DATE-TIME");
    expect(out.split("\n").slice(0, 3)).toEqual(["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]);
    expect(out).toContain("chunk-0-00002.m4s\n#EXT-X-ENDLIST");
  });
});
