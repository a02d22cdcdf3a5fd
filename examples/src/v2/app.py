"""my-lambda-function, Version2."""


def handler(event, context):
    name = (event or {}).get("name", "world")
    return {"statusCode": 200, "body": "Hello %s from Version2" % name}
