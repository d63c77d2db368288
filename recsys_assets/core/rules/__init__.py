"""Business rules on the lists, as data: stock, contract assortments, blocks, a cap per category, campaigns.

`rule_data` holds the tables and the list settings, `rule_set` compiles them into lookups, `apply` is the one
function that applies them to a customer's ranked candidates (publish time and serve time), `rule_cost` measures
what each rule costs on the hold-out.
"""
