"""Onboarding: sign-up and the upgrade steps, the flows that join accounts, referrals and usc_cards
(docs/architecture.md, "Layers"). A package of services and endpoints, not a Django app: it
owns no table."""
