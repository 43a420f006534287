#!/bin/sh
# gen-big.sh OUTDIR: write the large hostile batch documents that are not
# kept in the repository.
#   deep_nesting.xml  100,000 nested elements inside an order
#   big_text.xml      a 12 MiB text node (the parser's limit is 10 MB)
# Both must be refused with problems, quickly and in bounded memory.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: gen-big.sh OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"

head='<?xml version="1.0" encoding="UTF-8"?>
<batch xmlns="urn:certspool:batch:1" id="B-BIG">
  <order id="O-1">
    <product>secure_email_individual</product>'
tail='
    <validity><years>1</years></validity>
    <recipient>
      <commonName type="email">pat@acme.example</commonName>
      <email>pat@acme.example</email>
      <csrLater/>
    </recipient>
  </order>
</batch>'

{
	printf '%s\n    ' "$head"
	awk 'BEGIN {
		for (i = 0; i < 100000; i++) printf "<d>";
		for (i = 0; i < 100000; i++) printf "</d>";
	}'
	printf '%s\n' "$tail"
} > "$out/deep_nesting.xml.tmp"
mv "$out/deep_nesting.xml.tmp" "$out/deep_nesting.xml"

{
	printf '%s\n    <organization>' "$head"
	dd if=/dev/zero bs=1048576 count=12 2>/dev/null | tr '\000' 'A'
	printf '</organization>%s\n' "$tail"
} > "$out/big_text.xml.tmp"
mv "$out/big_text.xml.tmp" "$out/big_text.xml"
