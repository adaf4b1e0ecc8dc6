# lib/money.mk: pricing and ledger (owned by the money work).
