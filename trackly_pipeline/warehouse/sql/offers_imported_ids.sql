-- `trackly offers <network>`: the network's offers Trackly imports, to mark them in the live list.
SELECT offer_id FROM tune.offers WHERE network = $network AND imported;
