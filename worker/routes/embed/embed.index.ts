import { cors } from "hono/cors";
import { createRouter } from "../../app/create-app";
import { optionalUser } from "../../middleware/auth";
import { embedPage, oembed, watchPage } from "./embed.handlers";
import { registerEmbedDocs } from "./embed.routes";

/**
 * Embeds: the player page for iframes, oEmbed, and the watch page with its oEmbed discovery link
 * (wrangler.toml's `run_worker_first` sends `/watch` here before the static assets).
 */
export const embedRouter = createRouter();

// The owner of a private video may open its embed with their key (a preview); others need a token.
embedRouter.get("/embed/:id", optionalUser(), embedPage);
// oEmbed answers hold nothing private: any site's script may read them.
embedRouter.get("/oembed", cors({ origin: "*", allowMethods: ["GET", "HEAD", "OPTIONS"] }), oembed);
embedRouter.get("/watch", watchPage);
registerEmbedDocs(embedRouter);
