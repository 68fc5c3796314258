#!/usr/bin/env bash
# WordNet 3.0 for NLTK from Debian's packages (docs/synonyms.md, "WordNet").
#   bash .ci/wordnet.sh [TARGET]   TARGET: NLTK data folder (default: the active Python's <sys.prefix>/nltk_data,
#                                  which NLTK searches without NLTK_DATA; other folders need NLTK_DATA=TARGET).
# Needs root for apt-get (skipped when wordnet-base is already installed) and nltk in the active Python.
set -euo pipefail
cd "$(dirname "$0")/.."
MANPAGE=/usr/share/man/man5/lexnames.5WN.gz
if [ ! -f /usr/share/wordnet/data.noun ] || [ ! -f /usr/share/wordnet/index.sense ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index
fi
if [ ! -f "$MANPAGE" ]; then
    # Images that drop man pages (dpkg path-exclude) still have the .deb: take lexnames(5WN) from it.
    tmp=$(mktemp -d)
    chmod a+rwx "$tmp"  # apt-get download runs as _apt
    (cd "$tmp" && apt-get download -qq wordnet-base && dpkg-deb --fsys-tarfile wordnet-base_*.deb \
        | tar -x ./usr/share/man/man5/lexnames.5WN.gz)
    MANPAGE="$tmp/usr/share/man/man5/lexnames.5WN.gz"
fi
python -m synonyms.wordnet_setup --manpage "$MANPAGE" ${1:+--target "$1"}
python -c "from synonyms.wordnet_setup import wordnet_info; info = wordnet_info(); assert info, 'NLTK cannot load WordNet'; print('NLTK loads WordNet', info['version'], 'from', info['root'])" \
    || { [ -n "${1:-}" ] && echo "set NLTK_DATA=$1 so that NLTK finds it"; exit 1; }
