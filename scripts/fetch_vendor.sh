#!/usr/bin/env bash
# Fetch the JavaScript the pages need (MathJax 3, require.js, the Jupyter widgets embedder) from
# the npm registry, pinned, into _vendor/, so the built site renders math and widgets offline.
set -euo pipefail
dest=${1:-_vendor}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent mathjax@3.2.2 requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.11 >/dev/null )
rm -rf "$dest" && mkdir -p "$dest/mathjax"
tar xzf "$tmp/mathjax-3.2.2.tgz" -C "$tmp" package/es5/tex-chtml.js package/es5/output/chtml/fonts/woff-v2
cp "$tmp/package/es5/tex-chtml.js" "$dest/mathjax/"
mkdir -p "$dest/mathjax/output/chtml/fonts" && cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
rm -rf "$tmp/package"
tar xzf "$tmp/requirejs-2.3.7.tgz" -C "$tmp" package/require.js
cp "$tmp/package/require.js" "$dest/require.min.js"
rm -rf "$tmp/package"
tar xzf "$tmp/jupyter-widgets-html-manager-1.0.11.tgz" -C "$tmp" package/dist
cp "$tmp"/package/dist/* "$dest/"
rm -f "$dest"/*.map
# The widget manager loads its icon fonts relative to the page (webpack's public path); every
# page lives in chapters/, so serve a copy there too (copied into the site by html_extra_path).
extra="${dest}_extra/chapters/@jupyter-widgets/html-manager/dist"
rm -rf "${dest}_extra" && mkdir -p "$extra"
cp "$tmp"/package/dist/*.woff* "$tmp"/package/dist/*.ttf "$tmp"/package/dist/*.eot "$tmp"/package/dist/*.svg "$extra/"
# Some loads resolve the fonts against chapters/@jupyter-widgets/ itself (seen in a clean-clone
# site test): serve them there as well.
cp "$extra"/* "${dest}_extra/chapters/@jupyter-widgets/"
echo "vendored MathJax 3.2.2, require.js 2.3.7, @jupyter-widgets/html-manager 1.0.11 into $dest"
