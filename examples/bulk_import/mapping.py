"""Maps one row of the HR export (people.csv) to a SCIM User. Raise to reject a row with a reason."""


def map_row(row):
    if not row["email"]:
        raise ValueError("no email address")
    return {
        "externalId": row["employee_id"],
        "userName": row["email"].lower(),
        "name": {"givenName": row["first"], "familyName": row["last"]},
        "emails": [{"type": "work", "value": row["email"].lower(), "primary": True}],
        "active": row["status"] == "active",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": row["dept"]},
    }
