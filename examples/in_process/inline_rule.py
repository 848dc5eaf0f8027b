"""Starts scimitar inside this script with one inline rule, pushes a user to it over SCIM the way an
identity provider would, and prints the decision. Run: .venv/bin/python examples/in_process/inline_rule.py"""
import json
import tempfile
import urllib.request
from pathlib import Path

import scimitar

workdir = Path(tempfile.mkdtemp(prefix="scimitar-example-"))
rules_dir = workdir / "rules"
rules_dir.mkdir()
(rules_dir / "role.py").write_text('''
from scimitar import rules

@rules.decide(priority=10)
def engineers_are_editors(user, ctx):
    if user.attr("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department") == "Engineering":
        return rules.Decision(role="editor", reason="engineering department")
''')

db = scimitar.open(f"sqlite:///{workdir}/example.db")
org = db.create_org("example")
db.store.create_member("example", "admin@example.com", "owner")
_, token = db.store.create_token("example", "admin@example.com", "example script")

with scimitar.serve(db=db, rules=str(rules_dir), port=0) as server:
    print("serving", server.url)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "ann@example.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering"}}
    request = urllib.request.Request(server.url + "/Users", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(request) as response:
        print("created", json.load(response)["id"], "status", response.status)

for member in org.members():
    print(f"{member.user_name}: role={member.role} ({org.explain(member.user_name)['detail']['reason']})")
