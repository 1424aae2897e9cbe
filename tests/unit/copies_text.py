"""Stories written for the copy-detection tests (and the demo's wire story): a wire story,
a different story on the same topic, and a follow-up that reuses one background paragraph."""

from __future__ import annotations

WIRE = """BUDAPEST (AFP) — A cargo ship carrying fertiliser ran aground on the Danube north of \
Budapest on Tuesday, blocking one of Europe's busiest inland waterways and stranding dozens \
of vessels, Hungarian authorities said.

The 110-metre Ukrainian-flagged vessel, the Dnipro Star, struck a sandbank near the town of \
Vac shortly after dawn as river levels fell to their lowest point in more than a decade, the \
national water directorate said in a statement.

No one was injured and there was no sign of a leak, police said. Divers were inspecting the \
hull, and a salvage crew was expected to begin unloading part of the cargo on Wednesday to \
lighten the ship.

"Until the vessel is refloated, no traffic can pass in either direction," said Gabor Farkas, \
a spokesman for the directorate. "We hope to reopen a single lane within three days, but it \
depends on the water level."

At least 40 barges and two river cruise ships were waiting on either side of the blockage by \
Tuesday evening, according to the Hungarian shipping association.

The Danube has fallen to about 30 percent below its seasonal average after a dry summer and \
autumn across central Europe, forcing operators to load barges at half capacity.

Hungary's transport ministry said it would ask the European Commission for emergency funds to \
dredge the shallowest stretches of the river between Vac and the Slovak border.

Similar low water levels in 2018 cost shippers on the Rhine and the Danube hundreds of millions \
of euros, according to estimates by the Central Commission for the Navigation of the Rhine.

© 2026 AFP"""

SAME_TOPIC = """Barge operators on the Rhine have cut their loads by half as water levels at the \
Kaub gauge fell below 50 centimetres on Monday, the German federal waterways agency said.

The Kaub reading, watched closely by shippers because the stretch near the town is one of the \
shallowest on the river, was the lowest recorded in November since measurements began.

Freight rates for a barge carrying coal or grain from Rotterdam to Basel have tripled since \
September, according to the Dutch inland shipping bureau, and several chemical plants along the \
river have warned of shortages of raw materials.

"Every centimetre counts now," said Anke Vogel, who runs a family barge company in Duisburg. \
"We are sailing with a third of what we normally carry, and the costs stay the same."

Forecasters expect some rain in the Alps next week, but said it would take weeks of steady \
rainfall to bring the Rhine back to normal levels for the season."""

FOLLOW_UP = """Salvage crews refloated the cargo ship Dnipro Star on Thursday after two days of \
work, and the first barges passed the site on the Danube near Vac by the evening, Hungarian \
authorities said.

Two tugboats pulled the vessel off the sandbank at around noon, once some 900 tonnes of its \
fertiliser had been moved onto a smaller barge, the national water directorate said.

The ship will be towed to the port of Csepel in Budapest for an inspection of its hull before \
it is allowed to continue its journey to Austria, a spokeswoman for the shipping company said.

The Danube has fallen to about 30 percent below its seasonal average after a dry summer and \
autumn across central Europe, forcing operators to load barges at half capacity.

Dozens of vessels that had been waiting since Tuesday were expected to pass through the stretch \
overnight in convoys, under the supervision of river police."""
