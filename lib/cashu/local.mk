# lib/cashu/: token codec, BDHKE crypto, mint client, wallet store.
