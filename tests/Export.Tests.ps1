# Export-DaxFsItem: extraction of images to directories, compared with the vectors' expected listings.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:IsRoot = (id -u) -eq '0'
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-export-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
}

AfterAll { if ($script:Work -and (Test-Path $script:Work)) { Remove-Item -Recurse -Force $script:Work } }

Describe 'Export-DaxFsItem' {
    BeforeEach {
        $script:Dest = Join-Path $script:Work ([guid]::NewGuid().ToString('n').Substring(0, 8))
    }

    It 'extracts <Name> with modes, symlinks and hard links as the expected listing' -ForEach @(
        @{ Name = 'basic' }, @{ Name = 'wide' }, @{ Name = 'deep' }, @{ Name = 'big' }
    ) {
        Export-DaxFsItem (Join-Path $script:Vectors "$Name.static.daxfs") -Destination $script:Dest
        $diff = Compare-VectorListing -Listing ([DaxFs.TreeTools.TreeListing]::List($script:Dest)) -ExpectedJson (Join-Path $script:Vectors "$Name.expected.json") -IgnoreOwner:(-not $script:IsRoot) -RootListed
        $diff | Should -BeNullOrEmpty
    }

    It 'puts a directory under its own name and a file by name, from -Path or the pipeline' {
        $img = Join-Path $script:Vectors 'basic.static.daxfs'
        Export-DaxFsItem $img -Path /a/b -Destination $script:Dest
        Get-Content (Join-Path $script:Dest 'b/c/hello.txt') | Should -Be 'hello, daxfs'
        Get-DaxFsItem $img -Path /a/five000, /one | Export-DaxFsItem -Destination $script:Dest
        (Get-Item (Join-Path $script:Dest 'five000')).Length | Should -Be 5000
        Get-Content -Raw (Join-Path $script:Dest 'one') | Should -Be 'x'
    }

    It 'returns what it wrote with -PassThru' {
        $out = Export-DaxFsItem (Join-Path $script:Vectors 'basic.static.daxfs') -Path /a -Destination $script:Dest -PassThru
        $out.ImagePath | Should -Contain '/a/b/c/hello.txt'
        ($out | Where-Object ImagePath -eq '/a/hard2').Destination | Should -Be (Join-Path $script:Dest 'a/hard2')
    }

    It 'reads file data from the backing file of a split image' {
        $src = Join-Path $script:Work 'split-src'
        New-Item -ItemType Directory $src -Force | Out-Null
        Set-Content (Join-Path $src 'f.txt') 'split data'
        $img = Join-Path $script:Work 'split.daxfs'
        New-DaxFsImage $src $img -BackingFile "$img.data" -Force | Out-Null
        Export-DaxFsItem $img -Destination $script:Dest -BackingFile "$img.data"
        Get-Content (Join-Path $script:Dest 'f.txt') | Should -Be 'split data'
    }

    It 'keeps existing files unless -Force' {
        New-Item -ItemType Directory $script:Dest | Out-Null
        Set-Content (Join-Path $script:Dest 'one') 'mine'
        Export-DaxFsItem (Join-Path $script:Vectors 'basic.static.daxfs') -Path /one -Destination $script:Dest -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ExportFailed,*'
        $e[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $e[0].Exception.Message | Should -Match '-Force'
        Get-Content (Join-Path $script:Dest 'one') | Should -Be 'mine'
        Export-DaxFsItem (Join-Path $script:Vectors 'basic.static.daxfs') -Path /one -Destination $script:Dest -Force
        Get-Content -Raw (Join-Path $script:Dest 'one') | Should -Be 'x'
    }

    It 'writes nothing with -WhatIf' {
        Export-DaxFsItem (Join-Path $script:Vectors 'basic.static.daxfs') -Destination $script:Dest -WhatIf
        Test-Path $script:Dest | Should -BeFalse
    }

    It 'never writes outside the destination, whatever names the image holds' {
        # A copy of basic whose root entry "one" is renamed "..": extracting it must fail without touching the parent.
        $bytes = [IO.File]::ReadAllBytes((Join-Path $script:Vectors 'basic.static.daxfs'))
        $root = 4096 + 8192
        $hit = $false
        for ($j = 0; $j -lt 13; $j++) {
            $at = $root + $j * 272
            $len = [BitConverter]::ToUInt16($bytes, $at + 8)
            if ([Text.Encoding]::ASCII.GetString($bytes, $at + 16, $len) -eq 'one') {
                $bytes[$at + 8] = 2; $bytes[$at + 16] = [byte][char]'.'; $bytes[$at + 17] = [byte][char]'.'; $bytes[$at + 18] = 0
                $hit = $true
            }
        }
        $hit | Should -BeTrue
        $evil = Join-Path $script:Work 'evil.daxfs'
        [IO.File]::WriteAllBytes($evil, $bytes)
        $parent = Join-Path $script:Work 'jail'
        New-Item -ItemType Directory "$parent/inner" -Force | Out-Null

    }

    It 'fails on <Case> it may not write: PermissionDenied, naming <Named>, and writes nothing' -ForEach @(
        @{ Case = 'a missing destination under a folder'; Below = 'new'; Named = 'the destination' }
        @{ Case = 'an existing destination folder'; Below = ''; Named = 'the first item' }
    ) {
        $closed = Join-Path $script:Work "closed-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory $closed | Out-Null
        $dest = if ($Below) { Join-Path $closed $Below } else { $closed }
        # The same code runs in this process or, as root, in a child without CAP_DAC_OVERRIDE (root writes anywhere).
        $check = {
            param([string] $Image, [string] $Destination, [string] $Closed)
            Export-DaxFsItem $Image -Destination $Destination -ErrorVariable e -ErrorAction SilentlyContinue
            [pscustomobject]@{
                ErrorCount = $e.Count
                ErrorId = $e[0].FullyQualifiedErrorId
                Category = "$($e[0].CategoryInfo.Category)"
                Target = "$($e[0].TargetObject)"
                Message = $e[0].Exception.Message
                Left = @(Get-ChildItem -LiteralPath $Closed -Force | ForEach-Object Name)
            }
        }
        chmod 555 $closed
        try {
            $image = Join-Path $script:Vectors 'basic.static.daxfs'
            $r = if ($script:IsRoot) { Invoke-WithoutDacOverride -ScriptBlock $check -ArgumentList $image, $dest, $closed } else { & $check $image $dest $closed }
        }
        finally { chmod 755 $closed }
        if ($r -is [string]) { Set-ItResult -Skipped -Because "as root, every folder is writable unless the capabilities are dropped, and $r"; return }

        $r.ErrorCount | Should -Be 1
        $r.ErrorId | Should -Be 'ExportFailed,DaxFs.Commands.ExportDaxFsItemCommand'
        $r.Category | Should -Be 'PermissionDenied'
        if ($Below) {
            $r.Target | Should -Be $dest
            $r.Message | Should -BeLike "Cannot create the destination folder '$dest'*"
        }
        else {
            $r.Target | Should -BeLike '/*' -Because 'the error names the item of the image it could not write'
            $r.Message | Should -BeLike "*'$dest/*"
        }
        $r.Left | Should -BeNullOrEmpty
    }

    It 'reports a path missing from the image' {
        Export-DaxFsItem (Join-Path $script:Vectors 'basic.static.daxfs') -Path /nope -Destination $script:Dest -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ItemNotFoundInImage,*'
    }
}
